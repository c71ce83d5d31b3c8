//! Running commands: checked output, processes entered into a namespace, bounded waits,
//! and killing what lives in a namespace.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::LabError;

/// Runs `program args…` (in the root namespace, e.g. `ip -n NS …`), optionally feeding
/// `stdin`, and returns its standard output if it exited 0.
pub(crate) fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, LabError> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    run_command(cmd, stdin)
}

/// Runs `program args…` inside the namespace `ns` (see [`enter_netns`]).
pub(crate) fn run_in(
    ns: &str,
    program: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<String, LabError> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    enter_netns(&mut cmd, ns)?;
    run_command(cmd, stdin)
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn run_command(mut cmd: Command, stdin: Option<&str>) -> Result<String, LabError> {
    let command = describe(&cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| LabError::Spawn {
        command: command.clone(),
        source,
    })?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())?;
    }
    // Every command here is a quick configuration call; bound it anyway.
    let out = wait_output(child, Duration::from_secs(30), &command)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Command {
            command,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Makes `cmd` enter the network namespace `ns` (`/run/netns/<ns>`) between fork and exec,
/// keeping its arguments, environment, working directory and stdio as configured.
pub(crate) fn enter_netns(cmd: &mut Command, ns: &str) -> Result<(), LabError> {
    let path = CString::new(format!("/run/netns/{ns}"))
        .map_err(|_| LabError::InvalidName(ns.to_string()))?;
    // SAFETY: the closure runs in the forked child before exec and only calls open(2),
    // setns(2) and close(2), which are async-signal-safe; `path` was allocated before fork.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || {
            let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let rc = libc::setns(fd, libc::CLONE_NEWNET);
            let err = std::io::Error::last_os_error();
            libc::close(fd);
            if rc != 0 {
                return Err(err);
            }
            Ok(())
        });
    }
    Ok(())
}

/// Waits for `child` at most `limit`, collecting its stdout and stderr (if piped); kills
/// it and returns [`LabError::Timeout`] when the bound runs out.
pub fn wait_output(mut child: Child, limit: Duration, what: &str) -> Result<Output, LabError> {
    let out = child.stdout.take().map(|mut p| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = p.read_to_end(&mut buf);
            buf
        })
    });
    let err = child.stderr.take().map(|mut p| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = p.read_to_end(&mut buf);
            buf
        })
    });
    let status = match wait_status(&mut child, limit)? {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(LabError::Timeout {
                what: what.to_string(),
                after: limit,
            });
        }
    };
    let collect = |h: Option<thread::JoinHandle<Vec<u8>>>| {
        h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: collect(out),
        stderr: collect(err),
    })
}

/// Polls `child` until it exits (`Some(status)`) or `limit` passes (`None`).
pub(crate) fn wait_status(
    child: &mut Child,
    limit: Duration,
) -> Result<Option<ExitStatus>, LabError> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Kills (SIGKILL) every process living in namespace `ns`, as `ip netns pids` lists them.
pub(crate) fn kill_all_in(ns: &str) {
    let Ok(pids) = run("ip", &["netns", "pids", ns], None) else {
        return;
    };
    for pid in pids
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
    {
        if pid > 1 && pid != std::process::id() as i32 {
            // SAFETY: kill(2) with a pid read from the kernel; no memory is involved.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// Whether a process with this pid exists (signal 0 probe; EPERM still means "exists").
pub(crate) fn pid_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill(2) with signal 0 only checks for existence.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether this process runs as root (effective uid 0).
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid() == 0
    }
}
