//! The `stockpile` command: serve (default), migrate, token.

use clap::{Parser, Subcommand};
use stockpile::api::token;
use stockpile::config::Settings;
use stockpile::domain::actor::Role;
use stockpile::startup::{self, Application};
use stockpile::telemetry;

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
    }
}
