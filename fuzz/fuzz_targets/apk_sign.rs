#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    wrapsign::fuzzing::apk_sign(data);
});
