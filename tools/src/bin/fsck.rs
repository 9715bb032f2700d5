//! fsck.vexfs: check and repair a VexFS filesystem, with e2fsck's options
//! and exit codes.

use std::path::PathBuf;
use std::process::ExitCode;
use vexfs_core::dev::FileDevice;
use vexfs_core::fsck::{check, Mode, Options, EXIT_OPERATIONAL, EXIT_USAGE};
use vexfs_tools::{mounted_at, open_target};

const USAGE: &str = "Usage: fsck.vexfs [-n|-y|-p] [-f] [-v] DEVICE

  -n   check only: open read-only, answer no to every repair
  -y   repair everything that can be repaired
  -p   (or -a) repair what is safe without asking; report the rest
  -f   force checking (accepted for compatibility: the check always runs)
  -v   verbose: statistics and extra detail

Without -n/-y/-p the device is only checked, as with -n.
Exit status: 0 clean, 1 errors corrected, 4 errors left uncorrected,
8 operational error, 16 usage error (bits are OR-ed, as e2fsck's).";

struct Args {
    mode: Mode,
    verbose: bool,
    device: PathBuf,
}

fn parse(args: &[String]) -> Result<Option<Args>, String> {
    let mut mode: Option<Mode> = None;
    let mut verbose = false;
    let mut device: Option<PathBuf> = None;
    let mut only_positional = false;
    for a in args {
        if only_positional || !a.starts_with('-') || a == "-" {
            if device.replace(PathBuf::from(a)).is_some() {
                return Err("only one device may be given".into());
            }
            continue;
        }
        match a.as_str() {
            "--" => {
                only_positional = true;
                continue;
            }
            "-h" | "--help" => return Ok(None),
            "-V" | "--version" => {
                println!("fsck.vexfs {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            _ => {}
        }
        for c in a.chars().skip(1) {
            let m = match c {
                'n' => Mode::No,
                'y' => Mode::Yes,
                'p' | 'a' => Mode::Preen,
                'f' => continue,
                'v' => {
                    verbose = true;
                    continue;
                }
                _ => return Err(format!("invalid option -- '{}'", c)),
            };
            if mode.is_some_and(|old| old != m) {
                return Err("only one of the options -p/-a, -n or -y may be specified".into());
            }
            mode = Some(m);
        }
    }
    let device = device.ok_or_else(|| String::from("no device given"))?;
    Ok(Some(Args {
        mode: mode.unwrap_or(Mode::Check),
        verbose,
        device,
    }))
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(8))
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv) {
        Ok(Some(a)) => a,
        Ok(None) => {
            if argv.iter().any(|a| a == "-h" || a == "--help") {
                println!("{}", USAGE);
            }
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("fsck.vexfs: {}\n\n{}", msg, USAGE);
            return exit(EXIT_USAGE);
        }
    };
    let dev = args.device.display().to_string();
    let write = matches!(args.mode, Mode::Yes | Mode::Preen);
    if let Some(m) = mounted_at(&args.device) {
        if write {
            eprintln!(
                "{} is mounted on {}.\nfsck.vexfs: cannot continue, aborting.",
                dev,
                m.display()
            );
            return exit(EXIT_OPERATIONAL);
        }
        eprintln!(
            "Warning: {} is mounted on {}; results of a read-only check may be inaccurate.",
            dev,
            m.display()
        );
    }
    let target = match open_target(&args.device, write) {
        Ok(t) => t,
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            eprintln!(
                "fsck.vexfs: {} is in use (mounted or claimed).\nfsck.vexfs: cannot continue, aborting.",
                dev
            );
            return exit(EXIT_OPERATIONAL);
        }
        Err(e) => {
            eprintln!("fsck.vexfs: {} while trying to open {}", e, dev);
            return exit(EXIT_OPERATIONAL);
        }
    };
    let mut fdev = FileDevice::new(target.file, target.bytes);
    let opts = Options {
        mode: args.mode,
        verbose: args.verbose,
    };
    let rep = check(&mut fdev, &opts);
    if let Some(why) = &rep.fatal {
        eprintln!("fsck.vexfs: {} while checking {}", why, dev);
        return exit(rep.exit_code());
    }
    let name = if rep.label.is_empty() {
        dev.clone()
    } else {
        format!("{} ({})", dev, rep.label)
    };
    for l in &rep.lines {
        println!("{}", l);
    }
    let st = &rep.stats;
    if args.verbose {
        println!();
        println!(
            "{:>12} inodes used ({} total)",
            st.inodes_used, st.inodes_total
        );
        println!("{:>12} regular files", st.regular);
        println!("{:>12} directories", st.directories);
        println!("{:>12} symbolic links", st.symlinks);
        println!("{:>12} device files, fifos and sockets", st.special);
        println!("{:>12} extra hard links", st.hard_links);
        println!("{:>12} vectors", st.vectors);
        println!(
            "{:>12} blocks used ({} total)",
            st.blocks_used, st.blocks_total
        );
    }
    if rep.modified {
        println!("\n{}: ***** FILE SYSTEM WAS MODIFIED *****", name);
    }
    println!(
        "{}: {}/{} files, {}/{} blocks",
        name, st.inodes_used, st.inodes_total, st.blocks_used, st.blocks_total
    );
    let left = rep.uncorrected();
    if left > 0 {
        match args.mode {
            Mode::Check => println!(
                "{}: {} error(s) found; run fsck.vexfs -y to repair them",
                name, left
            ),
            Mode::Preen => println!(
                "{}: UNEXPECTED INCONSISTENCY; RUN fsck.vexfs MANUALLY (with -y).",
                name
            ),
            _ => println!(
                "{}: ********** WARNING: Filesystem still has {} error(s) **********",
                name, left
            ),
        }
    }
    exit(rep.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<Option<Args>, String> {
        parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options() {
        assert_eq!(p(&["-fy", "img"]).unwrap().unwrap().mode, Mode::Yes);
        assert_eq!(p(&["img"]).unwrap().unwrap().mode, Mode::Check);
        assert_eq!(p(&["-a", "-v", "img"]).unwrap().unwrap().mode, Mode::Preen);
        assert!(p(&["-n", "-y", "img"]).is_err());
        assert!(p(&["-x", "img"]).is_err());
        assert!(p(&[]).is_err());
        assert!(p(&["a", "b"]).is_err());
    }
}
