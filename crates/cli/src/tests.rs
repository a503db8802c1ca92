//! The reproducer command line of every catalogue case parses back into
//! the same request and context (no syscalls: cheap).

use super::{Cli, Command};
use crate::args::RequestArgs;
use clap::{CommandFactory, FromArgMatches};
use forklore_suite::{catalogue, check, verdict::repro_command};

#[test]
fn every_catalogue_case_round_trips_through_its_reproducer() {
    let host = forklore_observe::detect_host_context();
    let contexts = check::default_contexts();
    let full = catalogue::catalogue(false, host.task_size_max);
    let cover = catalogue::context_cover();
    assert!(full.len() > 100_000, "the full catalogue: {}", full.len());
    // One clap command for all parses: building it is most of the cost.
    let mut cmd = Cli::command();
    let mut n = 0usize;
    for (i, case) in full.iter().chain(cover.iter()).enumerate() {
        let context = &contexts[i % contexts.len()];
        let line = repro_command(case.request(), context);
        // Plain words: the line runs as printed in a shell.
        assert!(
            line.chars()
                .all(|c| c.is_ascii_alphanumeric() || " -_:,.".contains(c)),
            "{}: {line}",
            case.id()
        );
        let argv = line.split(' ');
        let cli = match cmd
            .try_get_matches_from_mut(argv)
            .and_then(|m| Cli::from_arg_matches(&m))
        {
            Ok(c) => c,
            Err(e) => panic!("{}: {line}: {e}", case.id()),
        };
        let Command::Probe(p) = cli.command else {
            panic!("{}: {line}: not a probe command", case.id())
        };
        assert_eq!(p.context.as_deref(), Some(context.as_str()), "{line}");
        assert_eq!(p.scenario, None);
        assert_eq!(
            p.request,
            RequestArgs::from_request(case.request()),
            "{line}"
        );
        match p.request.options().build() {
            Ok(r) => assert_eq!(&r, case.request(), "{}: {line}", case.id()),
            Err(e) => panic!("{}: {line}: {e}", case.id()),
        }
        n += 1;
    }
    assert_eq!(n, full.len() + cover.len());
}

#[test]
fn request_args_argv_matches_the_options() {
    let req = forklore_model::Request::clone3(0x100, 17);
    let a = RequestArgs::from_request(&req);
    assert_eq!(
        a.to_argv(),
        [
            "--syscall",
            "clone3",
            "--flags",
            "0x100",
            "--exit-signal",
            "17"
        ]
    );
    let mut argv = vec!["forklore".to_string(), "explain".into()];
    argv.extend(a.to_argv());
    let m = Cli::command().try_get_matches_from(argv).unwrap();
    let Command::Explain(e) = Cli::from_arg_matches(&m).unwrap().command else {
        panic!("not explain")
    };
    assert_eq!(e.request.options().build().unwrap(), req);
}
