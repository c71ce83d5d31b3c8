//! The probe programs themselves, run inside a namespace by `zeropole netlab probe …`.
//! Each prints its findings on stdout (parsed by [`super::Probe`]) and is bounded in time.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// How often a client resends while waiting for an answer.
const RESEND: Duration = Duration::from_millis(100);

/// UDP observer and rendezvous server on `port`; exits after `lifetime`.
pub fn udp_server(port: u16, lifetime: Duration) -> io::Result<()> {
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port))?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    let deadline = Instant::now() + lifetime;
    let mut registered: HashMap<String, SocketAddr> = HashMap::new();
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) if is_timeout(&e) => continue,
            Err(e) => return Err(e),
        };
        let msg = String::from_utf8_lossy(&buf[..n]);
        let mut words = msg.split_whitespace();
        let reply = match (words.next(), words.next()) {
            (Some("OBS"), _) => format!("SEEN {from}"),
            (Some("REG"), Some(id)) => {
                registered.insert(id.to_string(), from);
                format!("SEEN {from}")
            }
            (Some("GET"), Some(id)) => match registered.get(id) {
                Some(addr) => format!("PEER {addr}"),
                None => "NONE".to_string(),
            },
            _ => continue,
        };
        // A reply that cannot be sent (e.g. no route) is the client's loss, not ours.
        let _ = sock.send_to(reply.as_bytes(), from);
    }
    Ok(())
}

/// TCP observer server on `port`: writes `SEEN <peer>` to each connection; exits after
/// `lifetime`.
pub fn tcp_server(port: u16, lifetime: Duration) -> io::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))?;
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + lifetime;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((mut stream, from)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
                let _ = writeln!(stream, "SEEN {from}");
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// From one socket bound to `bind`, asks each target `OBS` (resending until `timeout`
/// per target) and prints `reply <target> <seen>` or `noreply <target>`.
pub fn udp_observe(bind: u16, targets: &[SocketAddr], timeout: Duration) -> io::Result<()> {
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, bind))?;
    sock.set_read_timeout(Some(RESEND))?;
    for target in targets {
        match ask(&sock, *target, "OBS", "SEEN", timeout)? {
            Some(seen) => println!("reply {target} {seen}"),
            None => println!("noreply {target}"),
        }
    }
    Ok(())
}

/// Connects to `target` (retrying refusals until `timeout`: the server may still be
/// starting) and prints `reply <target> <seen>` or `noreply <target>`.
pub fn tcp_observe(target: SocketAddr, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        match TcpStream::connect_timeout(&target, left.max(Duration::from_millis(1))) {
            Ok(stream) => {
                stream.set_read_timeout(Some(left.max(Duration::from_millis(100))))?;
                let mut line = String::new();
                BufReader::new(stream).read_line(&mut line)?;
                if let Some(seen) = line.trim().strip_prefix("SEEN ") {
                    println!("reply {target} {seen}");
                    return Ok(());
                }
            }
            Err(e) if is_timeout(&e) => break,
            Err(_) => std::thread::sleep(RESEND),
        }
    }
    println!("noreply {target}");
    Ok(())
}

/// Hole punching: registers as `id` at `rendezvous`, learns `peer`'s mapped address there,
/// then sends `PUNCH <id>` to it every 100 ms. On receiving the peer's `PUNCH` it sends a
/// few more (so the peer hears us too) and prints `punched <from>`; after `timeout` it
/// prints `nopunch <peer>` (or `nopeer` if the rendezvous never knew the peer).
pub fn punch(
    bind: u16,
    rendezvous: SocketAddr,
    id: &str,
    peer: &str,
    timeout: Duration,
) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, bind))?;
    sock.set_read_timeout(Some(RESEND))?;
    let Some(seen) = ask(&sock, rendezvous, &format!("REG {id}"), "SEEN", timeout)? else {
        println!("norendezvous {rendezvous}");
        return Ok(());
    };
    println!("mapped {seen}");
    let mut peer_addr = None;
    while peer_addr.is_none() && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Some(a) = ask(&sock, rendezvous, &format!("GET {peer}"), "PEER", left)? {
            peer_addr = a.parse::<SocketAddr>().ok();
        }
        // NONE: the peer has not registered yet; ask again after a pause.
        if peer_addr.is_none() {
            std::thread::sleep(RESEND);
        }
    }
    let Some(peer_addr) = peer_addr else {
        println!("nopeer {peer}");
        return Ok(());
    };
    println!("peer {peer_addr}");
    let hello = format!("PUNCH {id}");
    let expected = format!("PUNCH {peer}");
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        let _ = sock.send_to(hello.as_bytes(), peer_addr);
        match sock.recv_from(&mut buf) {
            Ok((n, from)) if buf[..n] == *expected.as_bytes() => {
                for _ in 0..10 {
                    let _ = sock.send_to(hello.as_bytes(), from);
                    std::thread::sleep(RESEND);
                }
                println!("punched {from}");
                return Ok(());
            }
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            // ICMP errors from earlier sends surface here (e.g. ECONNREFUSED); keep going.
            Err(_) => std::thread::sleep(RESEND),
        }
    }
    println!("nopunch {peer_addr}");
    Ok(())
}

/// Sends `msg` to `to` every 100 ms until an answer `<word> <rest>` arrives from `to` or
/// `timeout` passes; `NONE` also ends the wait (`None`).
fn ask(
    sock: &UdpSocket,
    to: SocketAddr,
    msg: &str,
    word: &str,
    timeout: Duration,
) -> io::Result<Option<String>> {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        // Sending can fail transiently (no route while a link is down); retry until the bound.
        let _ = sock.send_to(msg.as_bytes(), to);
        let until = Instant::now() + RESEND;
        while Instant::now() < until {
            match sock.recv_from(&mut buf) {
                Ok((n, from)) if from == to => {
                    let text = String::from_utf8_lossy(&buf[..n]);
                    if text == "NONE" {
                        return Ok(None);
                    }
                    if let Some(rest) = text.strip_prefix(word).and_then(|r| r.strip_prefix(' ')) {
                        return Ok(Some(rest.to_string()));
                    }
                }
                Ok(_) => {}
                Err(e) if is_timeout(&e) => break,
                Err(_) => {
                    std::thread::sleep(RESEND);
                    break;
                }
            }
        }
    }
    Ok(None)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
