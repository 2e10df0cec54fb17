//! [`Fib::apply_all`]'s batches: every request of a run made first (an
//! interface's index asked on the reading connection while they are), then
//! written [`BATCH`] to a datagram on the write socket ([`super::writer`]),
//! then every answer settled in order.
//!
//! A batch is cut into runs in which each prefix comes once: an add that
//! finds the prefix taken (EEXIST) is settled after its run (whose route is
//! it?), and must not be overtaken by a later request for the same prefix.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

use hashbrown::HashSet;
use ipnet::IpNet;
use tracing::{debug, warn};

use super::writer::{Action, BATCH};
use super::{DeviceIndexes, Fib, HoldsOurs};
use crate::encode::Request;
use crate::error::{errno, errno_of};
use crate::message;
use crate::route::ApplySummary;
use crate::{FibError, FibRoute, RouteKind};

/// Gateways' interfaces, `None` for a gateway with no route.
type GatewayInterfaces = HashMap<IpAddr, Option<u32>>;

/// One route of a run, made ready before anything is sent.
struct Step<'a> {
    /// The route, normalized: the caller's own when it already is (the
    /// daemon's always are), else a normalized copy.
    route: Cow<'a, FibRoute>,
    /// Its interface's index, for a route through a device.
    output_interface: Option<u32>,
    /// What to ask, or why it cannot even be asked.
    action: Result<Action, FibError>,
}

impl Fib {
    /// Applies `routes` in order, pipelined, counting each in `summary`; an
    /// error is returned only when no later route could succeed either
    /// ([`FibError::is_fatal`]).
    pub(super) async fn apply_batch(
        &mut self,
        routes: &[FibRoute],
        holds_ours: Option<HoldsOurs<'_>>,
        summary: &mut ApplySummary,
    ) -> Result<(), FibError> {
        let mut devices = DeviceIndexes::new();
        // The gateways' interfaces, for their next-hop objects: looked up
        // once a batch, as the devices are.
        let mut interfaces = GatewayInterfaces::new();
        let mut in_run: HashSet<IpNet> = HashSet::new();
        let mut start = 0;
        while start < routes.len() {
            in_run.clear();
            let end = routes[start..]
                .iter()
                .position(|route| !in_run.insert(route.prefix))
                .map_or(routes.len(), |offset| start + offset);
            self.apply_run(
                &routes[start..end],
                holds_ours,
                (&mut devices, &mut interfaces),
                summary,
            )
            .await?;
            start = end;
        }
        Ok(())
    }

    /// Applies routes of distinct prefixes, [`BATCH`] at a time: their
    /// requests made, sent in one datagram, their answers settled in order.
    /// (A batch at a time, so that what is held in between stays small.)
    async fn apply_run(
        &mut self,
        routes: &[FibRoute],
        holds_ours: Option<HoldsOurs<'_>>,
        (devices, interfaces): (&mut DeviceIndexes, &mut GatewayInterfaces),
        summary: &mut ApplySummary,
    ) -> Result<(), FibError> {
        for batch in routes.chunks(BATCH) {
            self.apply_distinct(
                batch,
                holds_ours,
                (&mut *devices, &mut *interfaces),
                summary,
            )
            .await?;
        }
        Ok(())
    }

    /// One datagram's worth of [`Fib::apply_run`].
    async fn apply_distinct(
        &mut self,
        routes: &[FibRoute],
        holds_ours: Option<HoldsOurs<'_>>,
        (devices, interfaces): (&mut DeviceIndexes, &mut GatewayInterfaces),
        summary: &mut ApplySummary,
    ) -> Result<(), FibError> {
        let mut steps = Vec::with_capacity(routes.len());
        for route in routes {
            let route = if route.is_normalized() {
                Cow::Borrowed(route)
            } else {
                Cow::Owned(route.normalized())
            };
            let prepared = self.prepare(&route, holds_ours, devices).await;
            let (output_interface, action) = match prepared {
                Ok((output_interface, action)) => (output_interface, Ok(action)),
                Err(error) if error.is_fatal() => return Err(error),
                Err(error) => (None, Err(error)),
            };
            steps.push(Step {
                route,
                output_interface,
                action,
            });
        }
        let installs: Vec<(Option<&FibRoute>, Option<u32>)> = steps
            .iter()
            .map(|step| match step.action {
                Ok(Action::Add | Action::Replace) => (Some(&*step.route), step.output_interface),
                _ => (None, None),
            })
            .collect();
        let objects = self.objects_for(&installs, interfaces).await?;
        drop(installs);
        let metric = self.config.metric;
        let (requests, through): (Vec<(Action, Request<'_>)>, Vec<_>) = steps
            .iter()
            .zip(&objects)
            .filter_map(|(step, object)| {
                let action = *step.action.as_ref().ok()?;
                let request = match (action, object) {
                    (Action::Remove, _) => Request::Remove {
                        prefix: step.route.prefix,
                        metric,
                    },
                    (Action::Replace | Action::Add, Some((_, id))) => Request::InstallThrough {
                        route: &step.route,
                        object: *id,
                    },
                    (Action::Replace | Action::Add, None) => Request::Install {
                        route: &step.route,
                        output_interface: step.output_interface,
                    },
                };
                Some(((action, request), object.map(|(next_hop, _)| next_hop)))
            })
            .unzip();
        // The answers could not be read: which routes went in is not
        // known, and the caller counts the whole batch failed (the daemon
        // tries failed routes again).
        let mut answers = self
            .writer
            .exchange(&self.config, &requests)
            .await
            .map_err(FibError::Connect)?;
        // A route refused (EINVAL) through an object: the object is gone
        // (the kernel removes one with its interface). Forgotten, and the
        // route asked again with its own next hop, which fails as it would
        // have without objects if the interface is gone too.
        let refused: Vec<usize> = (0..answers.len())
            .filter(|index| {
                through[*index].is_some()
                    && answers[*index]
                        .as_ref()
                        .and_then(|error| error.code)
                        .is_some_and(|code| -code.get() == errno::EINVAL)
            })
            .collect();
        if !refused.is_empty() {
            let again: Vec<(Action, Request<'_>)> = refused
                .iter()
                .map(|index| {
                    let (action, request) = requests[*index];
                    let request = match request {
                        Request::InstallThrough { route, .. } => Request::Install {
                            route,
                            output_interface: route
                                .device
                                .as_ref()
                                .and(through[*index].map(|next_hop| next_hop.interface)),
                        },
                        other => other,
                    };
                    (action, request)
                })
                .collect();
            for index in &refused {
                if let Some(next_hop) = &through[*index] {
                    self.next_hops.forget(next_hop);
                }
            }
            let answered_again = self
                .writer
                .exchange(&self.config, &again)
                .await
                .map_err(FibError::Connect)?;
            for (index, answer) in refused.into_iter().zip(answered_again) {
                answers[index] = answer;
            }
        }
        drop(requests);
        let answers: Vec<Result<(), rtnetlink::Error>> = answers
            .into_iter()
            .map(|error| match error {
                None => Ok(()),
                Some(error) => Err(rtnetlink::Error::NetlinkError(error)),
            })
            .collect();
        let mut answers = answers.into_iter();
        for step in steps {
            let settled = match step.action {
                Err(error) => Err(error),
                Ok(action) => {
                    let answer = answers.next().expect("one answer per request");
                    self.settle(action, &step, answer).await
                }
            };
            let prefix = step.route.prefix;
            match settled {
                Ok(()) if step.route.is_removal() => {
                    summary.removed += 1;
                    self.ledger_mut().removed(&prefix);
                }
                Ok(()) => {
                    summary.installed += 1;
                    let route = &step.route;
                    debug!(%prefix, kind = ?route.kind, next_hops = ?route.next_hops, device = ?route.device, "route installed");
                    self.ledger_mut().installed(prefix);
                }
                Err(error) if error.is_fatal() => return Err(error),
                Err(error) => {
                    if let (FibError::DeviceNotFound { .. }, Some(device)) =
                        (&error, &step.route.device)
                    {
                        // Gone since it was looked up: the next run asks again.
                        devices.remove(device);
                    }
                    warn!(%prefix, %error, "route not applied");
                    summary.errors.push((prefix, error));
                }
            }
        }
        Ok(())
    }

    /// What `route` (normalized) asks of the kernel, and its interface's
    /// index; an error for a route that cannot be asked for.
    async fn prepare(
        &self,
        route: &FibRoute,
        holds_ours: Option<HoldsOurs<'_>>,
        devices: &mut DeviceIndexes,
    ) -> Result<(Option<u32>, Action), FibError> {
        if route.is_removal() {
            return Ok((None, Action::Remove));
        }
        let output_interface = match (&route.device, route.kind) {
            (Some(device), RouteKind::Unicast) => {
                Some(self.device_index(device, route, devices).await?)
            }
            // install_request refuses a blackhole or unreachable route with a device.
            _ => None,
        };
        message::check_shape(route, output_interface)?;
        let action = if self.holds_ours(&route.prefix, holds_ours) {
            Action::Replace
        } else {
            Action::Add
        };
        Ok((output_interface, action))
    }

    /// What the kernel's `answer` to `step` means: an absent route removed
    /// is fine; a prefix taken on add is ours to replace only if the route
    /// holding it is ours (from a previous run), else
    /// [`FibError::ForeignRoute`].
    async fn settle(
        &mut self,
        action: Action,
        step: &Step<'_>,
        answer: Result<(), rtnetlink::Error>,
    ) -> Result<(), FibError> {
        let route = &step.route;
        let Err(error) = answer else {
            return Ok(());
        };
        match action {
            Action::Remove if errno_of(&error) == Some(errno::ESRCH) => {
                debug!(prefix = %route.prefix, "route to remove was absent");
                Ok(())
            }
            Action::Remove => Err(FibError::from_netlink(error, Some(route.prefix))),
            Action::Add if errno_of(&error) == Some(errno::EEXIST) => {
                self.take_over(route, step.output_interface).await
            }
            Action::Add | Action::Replace => Err(FibError::from_route_netlink(error, route)),
        }
    }

    /// After EEXIST: learns which prefixes hold our routes (a previous run
    /// left them) and replaces `route`'s if it is one of them.
    async fn take_over(
        &mut self,
        route: &FibRoute,
        output_interface: Option<u32>,
    ) -> Result<(), FibError> {
        let ours = self.dump().await?;
        let mut taken_by_ours = false;
        for kernel in &ours {
            let at_our_metric = self.config.at_our_metric(kernel);
            taken_by_ours |= at_our_metric && kernel.prefix == route.prefix;
            self.ledger_mut().listed(kernel.prefix, at_our_metric);
        }
        if !taken_by_ours {
            return Err(FibError::ForeignRoute {
                prefix: route.prefix,
                table: self.config.table,
            });
        }
        let request = message::install_request(&self.config, route, output_interface)?;
        self.replace(request, route).await
    }
}
