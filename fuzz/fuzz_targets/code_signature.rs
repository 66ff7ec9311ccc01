#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    wrapsign::fuzzing::code_signature(data);
});
