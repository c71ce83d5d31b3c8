//! `LocalDevnet`: a whole devnet inside the app's process, for SDK tests and demos only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use zeropole_core::crypto::SeedPhrase;
use zeropole_core::devnet::LocalDevnet as CoreLocalDevnet;

use crate::DevnetError;

/// Devnet seeds: a fixed base, one more per devnet started by this process, so that two
/// devnets alive at once never share station keys or peer ids.
static NEXT_SEED: AtomicU64 = AtomicU64::new(0x5a50_0000);

/// A devnet whose stations run in this process on 127.0.0.1 (each a libp2p swarm with its
/// own SQLite witness store in a temporary directory). **A test and demo tool**: its
/// station keys are derived from a public seed, so it must never hold real value.
///
/// Start it with the phrases whose accounts the genesis funds, then start `Node`s with
/// its `genesis_toml` and (some of) its `station_addrs` as home stations. `stop` (or
/// dropping the object) stops every station and deletes the directories.
#[derive(uniffi::Object)]
pub struct LocalDevnet {
    inner: Mutex<Option<CoreLocalDevnet>>,
    genesis_toml: String,
    station_addrs: Vec<String>,
}

#[uniffi::export]
impl LocalDevnet {
    /// Starts `stations` witness stations (the committee is all of them) with a genesis
    /// giving `funds` to the first account (index 0) of each phrase in `phrases`. Returns
    /// once every station knows every other (within 20 s). Blocks: call it off the UI
    /// thread.
    #[uniffi::constructor]
    pub fn start(
        stations: u32,
        phrases: Vec<String>,
        funds: u64,
    ) -> Result<Arc<Self>, DevnetError> {
        if stations == 0 {
            return Err(DevnetError::Start(
                "a devnet needs at least one station".into(),
            ));
        }
        let allocations = phrases
            .iter()
            .map(|p| {
                let keys = SeedPhrase::parse(p)
                    .and_then(|phrase| phrase.derive_key_pair(0))
                    .map_err(|e| DevnetError::InvalidPhrase(e.to_string()))?;
                Ok((keys.public_key().clone(), funds))
            })
            .collect::<Result<Vec<_>, DevnetError>>()?;
        let seed = NEXT_SEED.fetch_add(1, Ordering::Relaxed);
        let devnet = CoreLocalDevnet::start(seed, stations as usize, &allocations)
            .map_err(|e| DevnetError::Start(format!("devnet (seed {seed}): {e}")))?;
        Ok(Arc::new(LocalDevnet {
            genesis_toml: devnet.genesis_toml.clone(),
            station_addrs: devnet.station_addrs.clone(),
            inner: Mutex::new(Some(devnet)),
        }))
    }

    /// The genesis (TOML) every node of this devnet must use.
    pub fn genesis_toml(&self) -> String {
        self.genesis_toml.clone()
    }

    /// Every station's address (a multiaddr ending in `/p2p/<peer id>`), in station order.
    pub fn station_addrs(&self) -> Vec<String> {
        self.station_addrs.clone()
    }

    /// Stops every station and deletes their directories. Idempotent.
    pub fn stop(&self) {
        let devnet = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(devnet);
    }
}
