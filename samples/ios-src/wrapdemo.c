/* WrapDemo: main executable of the wrapsign TEST sample app. It does nothing useful: it
 * exists so the bundle carries a real arm64 iOS Mach-O (MH_EXECUTE) that links WrapKit. */
extern int wrapkit_version(void);

int main(void) { return wrapkit_version() == 1 ? 0 : 1; }
