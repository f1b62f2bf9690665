//! The `schema_exporter` binary: parse flags, set up logging, run the command, and turn its outcome
//! into an exit code: the one place an error is printed.

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

use schema_exporter::app::{self, Error, EXIT_ERROR};
use schema_exporter::cli::{Cli, Command, ServeArgs};
use schema_exporter::shard::Shard;
use schema_exporter::web::Watched;
use schema_exporter::{config, demo, healthcheck, logging};
use std::sync::Arc;

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
        Some(Command::Validate(args)) => {
            app::validate(&args.config_file, args.web_config_file.as_deref()).await
        }
        Some(Command::Healthcheck(args)) => Ok(healthcheck::run(
            &args.listen_address,
            &args.path,
            args.timeout,
            args.web_config_file.as_deref(),
        )
        .await),
        Some(Command::HashPassword(args)) => hash_password(args.cost),
    }
}

/// `hash-password`: the password is the first line of stdin (a trailing line break is not part
/// of it), so it never appears in a process list or shell history.
fn hash_password(cost: u32) -> Result<ExitCode, Error> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|source| Error::Io {
            what: "cannot read the password from stdin".into(),
            source,
        })?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(Error::Usage(
            "hash-password: give the password on stdin (an empty one is refused)".into(),
        ));
    }
    // bcrypt reads 72 bytes; a longer password would be cut short silently, and Go refuses it.
    let hash = bcrypt::non_truncating_hash(password, cost).map_err(|e| match e {
        bcrypt::BcryptError::Truncation(n) => Error::Usage(format!(
            "hash-password: the password is {n} bytes; bcrypt uses at most 72"
        )),
        e => Error::Failed(e.to_string()),
    })?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
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
    let web = match &args.web_config_file {
        Some(p) => Some(Arc::new(
            Watched::new(p).map_err(|e| Error::Invalid(vec![e]))?,
        )),
        None => None,
    };
    let listener = app::bind(&args.listen_address).await?;
    let options = app::ServeOptions {
        lifecycle: args.enable_lifecycle,
        shard,
        web,
    };
    app::serve(config, listener, app::termination()?, options).await?;
    Ok(ExitCode::SUCCESS)
}
