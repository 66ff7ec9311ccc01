fn main() {
    std::process::exit(wrapsign::cli::main());
}
