//! Namespace names and the sweep of namespaces left by crashed runs.
//!
//! Every namespace is `zpnl-<pid>-<seq>-<node>`: the creator's pid, a per-process lab
//! counter and the node's name. A namespace whose creator pid is dead is stale: [`sweep_stale`]
//! kills what still runs in it and deletes it. Namespaces of live processes (including
//! other labs of this process, e.g. parallel tests) are never touched.

use std::sync::atomic::{AtomicU32, Ordering};

use super::sys::{kill_all_in, pid_alive, run};
use super::LabError;

/// The prefix shared by every namespace any lab creates.
pub const NS_PREFIX: &str = "zpnl-";

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// A fresh prefix for one lab of this process: `zpnl-<pid>-<seq>-`.
pub(crate) fn new_lab_prefix() -> String {
    let seq = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
    format!("{NS_PREFIX}{}-{seq}-", std::process::id())
}

/// Checks a lab or node name: 1 to 16 characters of `[a-z0-9]`.
pub(crate) fn check_name(name: &str) -> Result<(), LabError> {
    let ok = !name.is_empty()
        && name.len() <= 16
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(LabError::InvalidName(name.to_string()))
    }
}

/// The network namespaces that exist now (`ip netns list`, names only).
pub fn list_namespaces() -> Result<Vec<String>, LabError> {
    let out = run("ip", &["netns", "list"], None)?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

/// The creator pid encoded in a lab namespace name, if it is one.
pub(crate) fn creator_pid(ns: &str) -> Option<i32> {
    ns.strip_prefix(NS_PREFIX)?.split('-').next()?.parse().ok()
}

/// Kills the processes in `ns` and deletes it; errors are ignored (best effort, used by
/// Drop and the sweep).
pub(crate) fn destroy_namespace(ns: &str) {
    kill_all_in(ns);
    let _ = run("ip", &["netns", "del", ns], None);
}

/// Deletes every lab namespace whose creator process is dead; returns their names.
pub fn sweep_stale() -> Result<Vec<String>, LabError> {
    let mut swept = Vec::new();
    for ns in list_namespaces()? {
        if let Some(pid) = creator_pid(&ns) {
            if !pid_alive(pid) {
                destroy_namespace(&ns);
                swept.push(ns);
            }
        }
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_prefixes_carry_this_pid_and_are_unique() {
        let (a, b) = (new_lab_prefix(), new_lab_prefix());
        assert_ne!(a, b);
        let pid = std::process::id() as i32;
        assert_eq!(creator_pid(&format!("{a}phone")), Some(pid));
        assert_eq!(creator_pid(&format!("{b}ix")), Some(pid));
    }

    #[test]
    fn only_lab_namespaces_have_a_creator() {
        assert_eq!(creator_pid("zpnl-4242-0-station"), Some(4242));
        assert_eq!(creator_pid("zpnl-x-0-station"), None);
        assert_eq!(creator_pid("other-4242-0-station"), None);
        assert_eq!(creator_pid("zpnl-"), None);
    }

    #[test]
    fn names_are_short_lowercase_alphanumerics() {
        for ok in ["a", "station", "phone2", "abcdefghijklmnop"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Phone", "a-b", "a b", "../x", "abcdefghijklmnopq"] {
            assert!(
                matches!(check_name(bad), Err(LabError::InvalidName(_))),
                "{bad}"
            );
        }
    }
}
