//! The `schema_exporter` binary: parse flags, set up logging, dispatch to [`schema_exporter::app`].

use clap::Parser;
use std::process::ExitCode;

use schema_exporter::cli::{Cli, Command};
use schema_exporter::{app, demo, healthcheck, logging};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.log.level, cli.log.format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(app::EXIT_ERROR);
        }
    };
    runtime.block_on(async {
        match cli.command {
            None => serve(cli.serve).await,
            Some(Command::Serve(args)) => serve(args).await,
            Some(Command::Demo(args)) => demo::run(&args.listen_address).await,
            Some(Command::Check(args)) => app::check(&args).await,
            Some(Command::Snapshot(args)) => app::snapshot(&args).await,
            Some(Command::Validate(args)) => app::validate(&args.config_file).await,
            Some(Command::Healthcheck(args)) => {
                healthcheck::run(&args.listen_address, &args.path, args.timeout).await
            }
        }
    })
}

async fn serve(args: schema_exporter::cli::ServeArgs) -> ExitCode {
    let Some(config) = args.config_file else {
        eprintln!("serve needs --config.file=PATH (or try `schema_exporter demo`)");
        return ExitCode::from(app::EXIT_ERROR);
    };
    app::serve(&config, &args.listen_address, args.enable_lifecycle).await
}
