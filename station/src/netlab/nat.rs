//! The NAT kinds and their nftables rules (applied inside a router's namespace).

/// How a NAT router maps and filters (RFC 4787 terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatKind {
    /// Endpoint-independent mapping (Linux `masquerade` keeps the source port when it is
    /// free, so every destination sees the same external ip:port) with address-and-port-
    /// dependent filtering (conntrack). UDP hole punching works through it.
    Easy,
    /// Endpoint-dependent mapping (`masquerade fully-random`: a fresh random external port
    /// per destination) with the same filtering. Hole punching fails through it.
    Hard,
}

impl NatKind {
    /// A short label for tables and logs: `easy` / `hard`.
    pub fn label(self) -> &'static str {
        match self {
            NatKind::Easy => "easy",
            NatKind::Hard => "hard",
        }
    }
}

/// The nftables ruleset of a NAT router whose upstream interface is `wan`.
///
/// Unsolicited inbound packets (conntrack state `new`/`invalid` arriving on `wan`) are
/// dropped both when forwarded and when addressed to the router itself. Dropping them in
/// the filter hooks matters for hole punching: a dropped packet's conntrack entry is never
/// confirmed, so an early punch packet from the peer does not leave a stale entry that
/// would force the router to pick another port for the host's own outgoing punch.
pub(crate) fn ruleset(kind: NatKind) -> String {
    let masquerade = match kind {
        NatKind::Easy => "masquerade",
        NatKind::Hard => "masquerade fully-random",
    };
    format!(
        r#"table ip zpnat {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan" {masquerade}
    }}
    chain forward {{
        type filter hook forward priority filter; policy accept;
        iifname "wan" ct state established,related accept
        iifname "wan" drop
    }}
    chain input {{
        type filter hook input priority filter; policy accept;
        iifname "wan" ct state established,related accept
        iifname "wan" drop
    }}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easy_keeps_ports_and_hard_randomises_them_and_both_drop_unsolicited() {
        let easy = ruleset(NatKind::Easy);
        let hard = ruleset(NatKind::Hard);
        assert!(easy.contains("oifname \"wan\" masquerade\n"));
        assert!(!easy.contains("random"));
        assert!(hard.contains("masquerade fully-random"));
        for rules in [&easy, &hard] {
            // Dropped in both forward and input (see `ruleset` on why input matters).
            assert_eq!(rules.matches("iifname \"wan\" drop").count(), 2);
            assert_eq!(
                rules.matches("ct state established,related accept").count(),
                2
            );
        }
    }
}
