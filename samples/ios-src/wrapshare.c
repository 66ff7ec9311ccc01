/* WrapShare: the share extension of the wrapsign TEST sample app (an MH_EXECUTE). */
int main(void) { return 0; }
