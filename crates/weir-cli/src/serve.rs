//! How `weir demo` serves the REST API: where (`--rest-bind`), with which token
//! (`--rest-token`, `WEIR_REST_TOKEN`, `--rest-token-file`), and where it lets
//! savepoints go (`--savepoint-dir`, `--allow-savepoint-dir`).

use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use weir::prelude::JobClient;
use weir_rest::{BearerToken, JobRegistry, RestError, RestOptions, RestServer, DEFAULT_BIND};

/// How long a process whose job has ended keeps serving so that the client of a
/// stop (or another savepoint request) can fetch the outcome.
pub const GRACE: Duration = Duration::from_secs(10);

/// The REST API options of `weir demo`.
#[derive(Debug, Clone, Default, Args)]
pub struct RestArgs {
    /// Serve the REST API (for `weir list`, `weir savepoint`, `weir stop`, `weir
    /// cancel`) on HOST:PORT, or on the first free port of HOST:FIRST-LAST; port 0
    /// picks any free port. Without this option: the first free port of
    /// 127.0.0.1:8081-8090, or no REST API (with a warning) if all are taken. An
    /// address other than loopback needs a token.
    #[arg(long, value_name = "HOST:PORT[-PORT]", conflicts_with = "no_rest")]
    pub rest_bind: Option<String>,
    /// Do not serve the REST API.
    #[arg(long)]
    pub no_rest: bool,
    /// Demand this bearer token on every REST request (at least 16 printable
    /// characters, e.g. from `openssl rand -hex 32`); clients pass it with --token.
    /// Prefer WEIR_REST_TOKEN or --rest-token-file: a command line is visible to
    /// other users.
    #[arg(long, env = "WEIR_REST_TOKEN", hide_env_values = true, conflicts_with = "no_rest")]
    pub rest_token: Option<String>,
    /// Read the bearer token from the first line of this file (takes precedence
    /// over --rest-token and WEIR_REST_TOKEN).
    #[arg(long, value_name = "FILE", conflicts_with = "no_rest")]
    pub rest_token_file: Option<PathBuf>,
    /// Also let REST requests write savepoints below this directory or `s3://`
    /// prefix (repeatable). Requests may name only --savepoint-dir, these
    /// directories, or directories below them; others are refused (403).
    #[arg(long, value_name = "DIR", conflicts_with = "no_rest")]
    pub allow_savepoint_dir: Vec<PathBuf>,
}

/// The token from a file (which wins) or a value, checked.
pub fn token(value: Option<&str>, file: Option<&Path>) -> Result<Option<BearerToken>, RestError> {
    match (file, value) {
        (Some(file), _) => BearerToken::from_file(file).map(Some),
        (None, Some(value)) => BearerToken::new(value.trim()).map(Some),
        (None, None) => Ok(None),
    }
}

/// A REST server serving the demo's job.
pub struct Served {
    server: RestServer,
    registry: JobRegistry,
    token: bool,
}

impl Served {
    /// Registers `client`'s job and says where to reach it.
    pub fn announce(&self, client: &JobClient, savepoint_dir: bool, allowed_dirs: bool) {
        self.registry.register(client.handle());
        let token_hint = if self.token { " --token <token>" } else { "" };
        let (id, url) = (client.job_id(), self.server.url());
        println!(
            "job {id} · REST API at {url}{}",
            if self.token { " (bearer token required)" } else { "" }
        );
        if !client.is_checkpointing() {
            println!("  from another terminal: weir cancel {id} -m {url}{token_hint}");
        } else if savepoint_dir {
            println!(
                "  from another terminal: weir savepoint {id} -m {url}{token_hint} | weir stop {id} -m {url}{token_hint}"
            );
        } else if allowed_dirs {
            println!(
                "  from another terminal: weir savepoint {id} <dir> -m {url}{token_hint} | \
                 weir stop {id} -p <dir> -m {url}{token_hint} (<dir> below an --allow-savepoint-dir)"
            );
        } else {
            println!(
                "  from another terminal: weir cancel {id} -m {url}{token_hint} \
                 (savepoints over the REST API need --savepoint-dir)"
            );
        }
        let _ = std::io::stdout().flush();
    }

    /// Keeps serving after the job has ended until every savepoint requested over
    /// the API has been fetched by its client, at most [`GRACE`].
    pub fn linger(&self) {
        if self.registry.wait_for_undelivered(Duration::from_secs(1)) {
            return;
        }
        println!(
            "waiting up to {}s for the REST client to fetch the savepoint's outcome (from {})",
            GRACE.as_secs(),
            self.server.url()
        );
        let _ = std::io::stdout().flush();
        if !self.registry.wait_for_undelivered(GRACE) {
            tracing::warn!("no client fetched the outcome of a savepoint request; stopping the REST API anyway");
        }
    }
}

/// Starts serving the REST API unless `--no-rest` (jobs are registered with
/// [`Served::announce`]). An address the user gave that cannot be served is an
/// error; the default range being taken is a warning.
pub fn serve(args: &RestArgs, savepoint_dir: Option<&Path>) -> Result<Option<Served>, RestError> {
    if args.no_rest {
        return Ok(None);
    }
    let token = token(args.rest_token.as_deref(), args.rest_token_file.as_deref())?;
    let mut registry = JobRegistry::new();
    if let Some(dir) = savepoint_dir {
        registry = registry.with_default_savepoint_dir(dir);
    }
    for dir in &args.allow_savepoint_dir {
        registry = registry.allow_savepoint_dir(dir);
    }
    let mut options = RestOptions::new(args.rest_bind.as_deref().unwrap_or(DEFAULT_BIND));
    if let Some(token) = token {
        options = options.with_token(token);
    }
    match RestServer::start_with(&options, registry.clone()) {
        Ok(server) => Ok(Some(Served {
            server,
            registry,
            token: options.has_token(),
        })),
        Err(e) if args.rest_bind.is_none() => {
            tracing::warn!("running without the REST API: {e} (choose an address with --rest-bind)");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
