//! The `stockpile` command: serve (default), migrate, token, verify, export, backup.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
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

#[derive(Parser)]
#[command(
    name = "stockpile",
    version,
    about = "Strategic critical-minerals reserve service"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Mint an HS256 token with the configured secret (development and scripts).
    Token {
        /// manufacturer, operator, auditor or admin
        #[arg(long)]
        role: String,
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
        /// jsonl or csv
        #[arg(long, default_value = "jsonl")]
        format: String,
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
    format: &str,
    from: Option<&str>,
    to: Option<&str>,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let format: Format = format.parse().map_err(anyhow::Error::msg)?;
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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
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
            let role: Role = role.parse().map_err(|_| {
                anyhow::anyhow!("--role must be manufacturer, operator, auditor or admin")
            })?;
            let ttl = token::parse_ttl(&ttl).map_err(anyhow::Error::msg)?;
            println!(
                "{}",
                token::mint(&settings, role, &sub, org.as_deref(), ttl)?
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
            &format,
            from.as_deref(),
            to.as_deref(),
            output.as_deref(),
        ),
        Command::Backup { output } => {
            backup::sqlite_copy(&startup::open_existing_db(&settings)?, &output)?;
            tracing::info!(output = %output.display(), "backup written");
            Ok(())
        }
    }
}
