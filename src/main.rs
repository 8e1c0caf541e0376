//! The `stockpile` command: serve (default), migrate, token, verify, export, backup, demo,
//! healthcheck, completions.

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{Read, Write};
use stockpile::api::token;
use stockpile::config::Settings;
use stockpile::db::{backup, ledger as ledger_db, tx};
use stockpile::domain::actor::Role;
use stockpile::domain::time::parse_bound;
use stockpile::ledger::export::{self, Format};
use stockpile::ledger::read::Range;
use stockpile::ledger::verify;
use stockpile::startup::{self, Application};
use stockpile::telemetry;

// The service allocates a little per request on many threads; mimalloc does that with less
// CPU than the system allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ENVIRONMENT_HELP: &str = "\
Configuration:
  config/default.toml holds every key with its default; STOCKPILE_ENV (development, test,
  production; default development) adds config/<env>.toml on top, read from the folder named by
  STOCKPILE_CONFIG_DIR (default config); any key can be overridden by an environment variable
  STOCKPILE__SECTION__KEY, e.g. STOCKPILE__DATABASE__URL=postgres://user@host:5432/stockpile.
  Unknown keys are refused. RUST_LOG, when set, overrides log.level (a tracing filter).";

#[derive(Parser)]
#[command(
    name = "stockpile",
    version,
    about = "Strategic critical-minerals reserve service",
    after_help = ENVIRONMENT_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// The roles a token can carry.
#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    /// A manufacturer's system (needs --org, the manufacturer id).
    Manufacturer,
    /// Reserve staff: receipts, disruptions, approvals.
    Operator,
    /// Read-only access to everything, the ledger included.
    Auditor,
    /// Reference data and administration.
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Manufacturer => Role::Manufacturer,
            RoleArg::Operator => Role::Operator,
            RoleArg::Auditor => Role::Auditor,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// The export's file formats.
#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// One JSON entry per line, with its postings and hashes.
    Jsonl,
    /// One posting per row.
    Csv,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Csv => Format::Csv,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Mint an HS256 token with the configured secret (development and scripts).
    Token {
        /// The token's role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The subject (`sub` claim): the person or system the token is for.
        #[arg(long)]
        sub: String,
        /// Manufacturer id (required for --role manufacturer).
        #[arg(long)]
        org: Option<String>,
        /// Lifetime: 90s, 15m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
    /// Verify the whole hash chain and the zero sums of the configured database; exits 1
    /// when it does not verify.
    Verify,
    /// Export the journal (every entry recorded in [from, to), in seq order).
    Export {
        /// The file format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: FormatArg,
        /// RFC 3339 time or YYYY-MM-DD date (inclusive).
        #[arg(long)]
        from: Option<String>,
        /// RFC 3339 time or YYYY-MM-DD date (exclusive).
        #[arg(long)]
        to: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Copy the configured SQLite database, online and consistent, to a new file
    /// (PostgreSQL: use pg_dump).
    Backup {
        /// The new file to write.
        #[arg(long)]
        output: std::path::PathBuf,
    },
    /// Seed a demo reserve (materials, depots, lots bought on a loan, manufacturers,
    /// a disruption, drawdowns) into the configured database, through the service's own API.
    Demo {
        /// Seed even though the database already holds data (adds to it).
        #[arg(long)]
        force: bool,
    },
    /// Ask the configured server's GET /health/ready; exits 0 when it answers 200, else 1
    /// (a container's health check, without curl).
    Healthcheck {
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Print a completion script for a shell, e.g.
    /// `stockpile completions bash > /etc/bash_completion.d/stockpile` (needs no settings).
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// A progress bar on standard error, drawn only when it is a terminal.
fn progress(total: i64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(u64::try_from(total).unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} entries ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

fn run_verify(settings: &Settings) -> anyhow::Result<bool> {
    let db = startup::open_existing_db(settings)?;
    let mut conn = db.get()?;
    let report = tx::snapshot(&mut conn, |conn| {
        let (total, _) = ledger_db::head(conn)?;
        let bar = progress(total, "verifying");
        let report = verify::verify(conn, &mut |n| {
            bar.set_position(u64::try_from(n).unwrap_or(0))
        });
        bar.finish_and_clear();
        report
    })?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(report.ok)
}

fn run_export(
    settings: &Settings,
    format: Format,
    from: Option<&str>,
    to: Option<&str>,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let bound = |name: &str, v: Option<&str>| {
        v.map(|v| parse_bound(v).map_err(|e| anyhow::anyhow!("--{name} {e}")))
            .transpose()
    };
    let range = Range {
        after_seq: 0,
        from: bound("from", from)?,
        to: bound("to", to)?,
    };
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let db = startup::open_existing_db(settings)?;
    let mut conn = db.get()?;
    let written = tx::snapshot(&mut conn, |conn| {
        let (total, _) = ledger_db::head(conn)?;
        let bar = progress(total, "exporting");
        let mut sink = |chunk: String| out.write_all(chunk.as_bytes());
        let n = export::write(conn, format, range, &mut sink, &mut |n| {
            bar.set_position(u64::try_from(n).unwrap_or(0))
        });
        bar.finish_and_clear();
        n
    })?;
    out.flush()?;
    tracing::info!(entries = written, "export written");
    Ok(())
}

/// GET /health/ready on the configured address (a wildcard host asks loopback) over plain
/// HTTP/1.1; true when it answers 200.
fn healthcheck(settings: &Settings, timeout: std::time::Duration) -> anyhow::Result<bool> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
    let port = settings.server.port;
    anyhow::ensure!(
        port != 0,
        "server.port is 0 (any free port): there is no address to ask"
    );
    let host = match settings.server.host.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() && ip.is_ipv4() => {
            IpAddr::V4(Ipv4Addr::LOCALHOST).to_string()
        }
        Ok(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST).to_string(),
        _ => settings.server.host.clone(),
    };
    let addr: SocketAddr = (host.as_str(), port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{host} does not resolve"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /health/ready HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let ok = head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200");
    println!("{addr}: {}", String::from_utf8_lossy(&head[9..]).trim());
    Ok(ok)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Completions { shell }) = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "stockpile",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    let settings = Settings::load()?;
    telemetry::init(&settings.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(async {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await?;
            tracing::info!("stopped");
            Ok(())
        }),
        Command::Migrate => {
            let db = startup::open_db(&settings)?;
            startup::migrate(&db)
        }
        Command::Token {
            role,
            sub,
            org,
            ttl,
        } => {
            let ttl = token::parse_ttl(&ttl).map_err(anyhow::Error::msg)?;
            println!(
                "{}",
                token::mint(&settings, role.into(), &sub, org.as_deref(), ttl)?
            );
            Ok(())
        }
        Command::Verify => {
            if !run_verify(&settings)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Export {
            format,
            from,
            to,
            output,
        } => run_export(
            &settings,
            format.into(),
            from.as_deref(),
            to.as_deref(),
            output.as_deref(),
        ),
        Command::Demo { force } => actix_web::rt::System::new().block_on(async {
            let summary = stockpile::demo::run(&settings, force).await?;
            print!("{}", summary.text);
            Ok(())
        }),
        Command::Healthcheck { timeout } => {
            match healthcheck(&settings, std::time::Duration::from_secs(timeout)) {
                Ok(true) => Ok(()),
                Ok(false) => std::process::exit(1),
                Err(e) => {
                    eprintln!("not healthy: {e:#}");
                    std::process::exit(1)
                }
            }
        }
        Command::Completions { .. } => unreachable!("handled before the settings are read"),
        Command::Backup { output } => {
            backup::sqlite_copy(&startup::open_existing_db(&settings)?, &output)?;
            tracing::info!(output = %output.display(), "backup written");
            Ok(())
        }
    }
}
