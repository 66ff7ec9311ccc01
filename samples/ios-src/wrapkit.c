/* WrapKit: the embedded framework of the wrapsign TEST sample app (an MH_DYLIB). */
int wrapkit_version(void) { return 1; }
