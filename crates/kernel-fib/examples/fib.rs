//! Shows or changes nodebgp's kernel routes by hand, through [`kernel_fib::Fib`].
//!
//! ```text
//! fib [--table N] [--protocol P] show            # what Fib::installed returns
//! fib [--table N] [--protocol P] check           # whether we may write (CAP_NET_ADMIN)
//! fib [--table N] [--protocol P] add PREFIX GATEWAY... [dev DEVICE]   # DEVICE: on-link through it
//! fib [--table N] [--protocol P] blackhole PREFIX
//! fib [--table N] [--protocol P] unreachable PREFIX
//! fib [--table N] [--protocol P] del PREFIX
//! fib [--table N] [--protocol P] flush           # Fib::remove_all
//! ```
//!
//! Try it in a throw-away network namespace rather than on the host's tables:
//!
//! ```sh
//! ip netns add try-fib
//! ip -n try-fib link set lo up
//! ip -n try-fib link add d0 type veth peer name d1
//! ip -n try-fib addr add 192.0.2.1/24 dev d0
//! ip -n try-fib addr add 2001:db8::1/64 dev d0 nodad
//! ip -n try-fib link set d0 up && ip -n try-fib link set d1 up
//! CARGO_TARGET_DIR=target cargo build -p kernel-fib --example fib
//! ip netns exec try-fib target/debug/examples/fib add 10.0.0.0/24 192.0.2.2 192.0.2.3
//! ip netns exec try-fib target/debug/examples/fib add 2001:db8:1::/48 2001:db8::2
//! ip netns exec try-fib target/debug/examples/fib blackhole 10.65.0.0/26
//! ip netns exec try-fib target/debug/examples/fib add 10.65.1.0/26 198.51.100.12 dev d0
//! ip -n try-fib route show table all proto 244        # the same, as the kernel has it
//! ip -n try-fib -6 route show table all proto 244
//! ip netns exec try-fib target/debug/examples/fib show
//! ip netns exec try-fib target/debug/examples/fib flush
//! ip netns del try-fib
//! ```

use std::net::IpAddr;
use std::process::ExitCode;

use ipnet::IpNet;
use kernel_fib::{Fib, FibConfig, FibRoute, RouteKind};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fib: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(mut arguments: Vec<String>) -> Result<(), String> {
    let mut config = FibConfig::default();
    while arguments
        .first()
        .is_some_and(|argument| argument.starts_with("--"))
    {
        let flag = arguments.remove(0);
        let value = if arguments.is_empty() {
            return Err(format!("{flag} needs a value"));
        } else {
            arguments.remove(0)
        };
        match flag.as_str() {
            "--table" => {
                config.table = value.parse().map_err(|error| format!("--table: {error}"))?
            }
            "--protocol" => {
                config.protocol = value
                    .parse()
                    .map_err(|error| format!("--protocol: {error}"))?
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let mut fib = Fib::open(config).await.map_err(|error| error.to_string())?;
    match arguments.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["show"] => {
            for route in fib.installed().await.map_err(|error| error.to_string())? {
                println!("{}", describe(&route));
            }
        }
        ["check"] => {
            fib.check_permission().await.map_err(|error| error.to_string())?;
            println!("may change routes");
        }
        ["add", prefix, rest @ ..] => {
            let (gateways, device) = match rest {
                [gateways @ .., "dev", device] => (gateways, Some(*device)),
                gateways => (gateways, None),
            };
            if gateways.is_empty() {
                return Err("add needs at least one gateway".to_owned());
            }
            let gateways = gateways
                .iter()
                .map(|gateway| gateway.parse::<IpAddr>().map_err(|error| format!("{gateway}: {error}")))
                .collect::<Result<Vec<_>, _>>()?;
            let prefix = parse_prefix(prefix)?;
            let route = match device {
                Some(device) => FibRoute::through_device(prefix, gateways, device),
                None => FibRoute::new(prefix, gateways),
            };
            fib.apply(&route).await.map_err(|error| error.to_string())?;
        }
        ["blackhole", prefix] => {
            fib.apply(&FibRoute::blackhole(parse_prefix(prefix)?))
                .await
                .map_err(|error| error.to_string())?;
        }
        ["unreachable", prefix] => {
            fib.apply(&FibRoute::unreachable(parse_prefix(prefix)?))
                .await
                .map_err(|error| error.to_string())?;
        }
        ["del", prefix] => {
            fib.apply(&FibRoute::removal(parse_prefix(prefix)?))
                .await
                .map_err(|error| error.to_string())?;
        }
        ["flush"] => {
            let removed = fib.remove_all().await.map_err(|error| error.to_string())?;
            println!("removed {removed} routes");
        }
        _ => return Err("usage: fib [--table N] [--protocol P] show|check|add PREFIX GATEWAY... [dev DEVICE]|blackhole PREFIX|unreachable PREFIX|del PREFIX|flush".to_owned()),
    }
    Ok(())
}

fn parse_prefix(prefix: &str) -> Result<IpNet, String> {
    prefix.parse().map_err(|error| format!("{prefix}: {error}"))
}

/// A route as `ip route show` words it.
fn describe(route: &FibRoute) -> String {
    match route.kind {
        RouteKind::Blackhole => format!("blackhole {}", route.prefix),
        RouteKind::Unreachable => format!("unreachable {}", route.prefix),
        _ => {
            let next_hops: Vec<String> = route.next_hops.iter().map(ToString::to_string).collect();
            match &route.device {
                Some(device) => format!(
                    "{} via {} dev {device} onlink",
                    route.prefix,
                    next_hops.join(" ")
                ),
                None => format!("{} via {}", route.prefix, next_hops.join(" ")),
            }
        }
    }
}
