//! The devices scenarios in a goose binary of one's own: goose's whole command line
//! (`--host`, `--users`, `--run-time`, `--threshold`, `--report-file`, ...), the suite's
//! transactions (`create_me`, `create_user`, `malformed`, `read_back`), then the
//! integrity pass. `devices-harness load` is the same attack with the embedded default
//! and worker reports; this is the shape to copy when adding scenarios of your own.
//!
//!     DEVICES_TOKEN=... DEVICES_USER_ID=... cargo run --release --example devices-loadtest -- \
//!         --host http://127.0.0.1:8080 --users 8 --increase-rate 8 --run-time 30s --report-file load.html

use devices_harness::check::Credentials;
use devices_harness::load::{Attack, Integrity, Options};
use goose::prelude::*;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let token = std::env::var("DEVICES_TOKEN")?;
    let user_id = std::env::var("DEVICES_USER_ID")?;
    let options = Options {
        users: vec![Credentials::new(&token, &user_id)],
        ..Options::default()
    };
    let attack = GooseAttack::initialize()?;
    let host = std::env::args()
        .skip_while(|a| a != "--host" && a != "-H")
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("give --host URL"))?;
    let devices = Attack::new(&host, &options)?;
    attack
        .register_scenario(devices.scenario()?)
        .execute()
        .await?;
    let integrity = devices.verify(Integrity::Exhaustive).await?;
    println!("{}", integrity.line());
    anyhow::ensure!(integrity.clean(), "lost or altered writes");
    Ok(())
}
