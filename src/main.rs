//! The `schema_exporter` binary: parse flags, set up logging, run the command, and turn its outcome
//! into an exit code: the one place an error is printed.

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

use schema_exporter::app::{self, Error, EXIT_ERROR};
use schema_exporter::cli::{Cli, Command, ServeArgs};
use schema_exporter::shard::Shard;
use schema_exporter::{config, demo, healthcheck, logging};

/// How long blocking work may finish after the command returned, before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(200);

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.log.level, cli.log.format);
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            what: "cannot start the async runtime".into(),
            source,
        })
        .and_then(|runtime| {
            let outcome = runtime.block_on(run(cli.command, cli.serve));
            // A parse or diff still running on the blocking pool has nobody left to report to;
            // dropping the runtime would wait for it, so SIGTERM mid-parse would not exit promptly.
            runtime.shutdown_timeout(SHUTDOWN_GRACE);
            outcome
        });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

async fn run(command: Option<Command>, serve_args: ServeArgs) -> Result<ExitCode, Error> {
    match command {
        None => serve(serve_args).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Demo(args)) => {
            let listener = app::bind(&args.listen_address).await?;
            demo::run(listener, app::termination()?).await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Check(args)) => app::check(&args).await,
        Some(Command::Snapshot(args)) => app::snapshot(&args).await,
        Some(Command::Validate(args)) => app::validate(&args.config_file).await,
        Some(Command::Healthcheck(args)) => {
            Ok(healthcheck::run(&args.listen_address, &args.path, args.timeout).await)
        }
    }
}

async fn serve(args: ServeArgs) -> Result<ExitCode, Error> {
    let Some(path) = args.config_file else {
        return Err(Error::Usage(
            "serve needs --config.file=PATH (or try `schema_exporter demo`)".into(),
        ));
    };
    let shard = Shard::new(args.shard_index, args.shard_total).map_err(Error::Usage)?;
    // Config errors come before binding, so a bad file never holds the port.
    let config = config::load(&path)?;
    let listener = app::bind(&args.listen_address).await?;
    let options = app::ServeOptions {
        lifecycle: args.enable_lifecycle,
        shard,
    };
    app::serve(config, listener, app::termination()?, options).await?;
    Ok(ExitCode::SUCCESS)
}
