use clap::Parser;

fn main() {
    let cli = msgspool::cli::Cli::parse();
    std::process::exit(msgspool::cli::run(cli).finish());
}
