//! The `handoff` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use handoff::cli::{
    CliError, bench, calibrate, eval, explain, fit_logs, lookahead, policies, replay, runs,
    scenarios, simulate, train, tune,
};

/// mimalloc rather than the system allocator: Burn allocates and frees tensor buffers of a few
/// hundred kilobytes at every step, which glibc maps and unmaps each time (page faults took 40 %
/// of training time); mimalloc keeps them. Training runs about 1.7 times as fast.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Customer-service dispatch shared by an agentic AI and human workers: a simulator calibrated to
/// Alibaba's Taobao field experiment (arXiv:2605.14830), a Gymnasium-style environment, and tools
/// to compare dispatch policies.
#[derive(Debug, Parser)]
#[command(name = "handoff", version = handoff::cli::version_text(), propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate the study's control and treatment arms on the same customers.
    ///
    /// Every chat has a counterfactual twin in the other arm (the same arrival time, issue and
    /// customer), so differences between the arms come from dispatch alone. Prints a table per arm
    /// and segment (all, AI-eligible, AI-ineligible chats) and the treatment effects read the way
    /// the study reads them.
    Simulate(simulate::SimulateArgs),
    /// Check the simulator against the field experiment, and refit it.
    ///
    /// Runs both study arms on the same customers for N seeds and estimates every effect the way
    /// the study reports it (durations as the change of the geometric mean, ratings over rated
    /// chats, retrials in points, escalation types against their human-served twins), with 95 %
    /// confidence intervals over seeds. Exits 1 when a target fails. Targets and their citations:
    /// calibration/targets.toml.
    Calibrate(calibrate::CalibrateArgs),
    /// Compare dispatch policies on common random numbers.
    ///
    /// Runs every policy on the same seeds (the same customers, issues and AI behaviour for
    /// every policy), in parallel across seeds, and prints a Markdown table: mean episode return
    /// with a 95 % bootstrap interval, the interquartile mean, the paired difference to the
    /// baseline with its interval and win rate, and the KPIs. Policies decide the decision kinds
    /// the scenario gives the agent (`env.control`); its fallback policy makes the rest.
    ///
    /// Exit codes: 0 when every --assert holds, 1 when one fails (or an output cannot be
    /// written), 2 for bad input (unknown policy, malformed assertion, bad scenario).
    #[command(after_help = "Examples:\n  \
        handoff eval --seeds 30\n  \
        handoff eval --scenario surge --policy c-mu --policy emotion-first --json\n  \
        handoff eval --policy c-mu --assert 'c-mu.diff_lo > 0' --junit eval.xml\n\n\
        Assertions: OPERAND OP OPERAND with OP one of > >= < <= and OPERAND a number or\n\
        POLICY.METRIC. Metrics: return, return_lo, return_hi, iqm, diff, diff_lo, diff_hi,\n\
        win_rate (against the baseline), return_per_chat, duration, wait (minutes), rating,\n\
        satisfaction, and the shares rating_rate, retrial, abandonment, resolved, ai_share,\n\
        ai_alone, technical, emotional, human, returning (fractions, 0 to 1), and concurrency\n\
        (other chats juggled per human reply).")]
    Eval(eval::EvalArgs),
    /// Train a dispatch policy (the best rule improved by rollouts, PPO or DQN), then compare
    /// it with the heuristics.
    ///
    /// Hyperparameters come from --config (TOML; `training/src/config.rs` documents every key
    /// and its default), then from the flags. The default learner (`--algo rollout`) starts at
    /// the best rule on validation seeds, compares options on copies of the full-size centre
    /// and writes the corrected rule to RUN/policy.toml; --steps, --envs, --scale and --device
    /// are PPO's and DQN's and are refused with it. PPO and DQN write the resolved config.toml,
    /// TensorBoard event files (CleanRL's tags: charts/episodic_return, charts/SPS, losses/*,
    /// plus eval/* and kpi/*) and checkpoints to the run directory (--run-dir); --resume
    /// continues from the newest checkpoint and ends exactly where an uninterrupted run would.
    /// Their training episodes run on the scenario scaled by `scale` (default 0.05 of the
    /// workers and arrivals, the same load per worker) for `days` days (default 1), with
    /// workers added until customers wait as long as at full size (`match_waits`); pass
    /// --scale 1 for a scenario that is small already. Every run ends with `handoff eval` of
    /// the trained policy and every heuristic on held-out seeds of the scenario itself (full
    /// size, its own days).
    #[command(after_help = "Examples:\n  \
        handoff train                                   # the best rule improved on taobao, about 3 minutes\n  \
        handoff train --algo ppo                        # PPO on a 5 % replica of taobao, about 5 minutes\n  \
        handoff train --algo dqn --scenario surge --scale 1 --steps 500000 --run-dir runs/dqn-surge\n  \
        handoff train --run-dir runs/dqn-surge --resume\n  \
        handoff eval --policy ckpt:runs/dqn-surge --scenario surge --first-seed 2000000")]
    Train(train::TrainArgs),
    /// List the training runs in a folder: progress, best validation return, whether complete.
    ///
    /// Progress is environment steps for PPO and DQN runs (each also draws its training curve
    /// beside its TensorBoard files, RUN/curve.svg) and training episodes for rollout runs
    /// (complete once RUN/policy.toml is written; RUN/validation.csv lists the candidates
    /// their validation compared).
    Runs(runs::RunsArgs),
    /// Turn a chat centre's log into a scenario of that centre.
    ///
    /// Reads the log row by row (a CSV with handoff's chats columns; `simulate --csv` writes
    /// one) and estimates what it identifies: the volume and hourly profile of arrivals, the
    /// customers' patience (a log-normal by censored maximum likelihood on first waits: who left
    /// before a first reply, and how long the others waited), the AI-eligible share, and the
    /// workers on duty by hour and the chats each holds at once when the log names workers.
    /// With --fit-service, the reply time, ratings and retrials are fitted to the log by
    /// simulated method of moments. Writes a scenario on a calibrated base with a comment on the
    /// source of every value, and sets the log's key numbers beside the fitted simulator's, with
    /// 95 % intervals. The same log and flags give the same scenario, bit for bit. Exit 2 for a
    /// log it cannot read, naming the line and column.
    #[command(after_help = "Examples:\n  \
        handoff simulate --scenario small --csv chats.csv\n  \
        handoff fit-logs --chats chats.csv --base small --out my-centre.toml --svg fit.svg\n  \
        handoff eval --scenario my-centre.toml\n\n\
        Schema: docs/logs.md (columns, units, what a log cannot show).")]
    FitLogs(fit_logs::FitLogsArgs),
    /// Tune a heuristic's parameters for mean return, and write them as a policy file.
    ///
    /// Searches the parameter ranges `handoff policies` lists with a Latin hypercube, then
    /// CMA-ES from its best points, scoring every
    /// candidate on the same validation seeds (from 3000000, disjoint from the seeds of eval,
    /// training's validation and the test seeds), starting from and never reporting worse than
    /// the defaults. The file (TOML: base policy, parameters, and the scenario, seeds and score of
    /// the tuning) runs with `handoff eval --policy FILE.toml`.
    #[command(after_help = "Examples:\n  \
        handoff tune --policy c-mu --scenario surge --budget 80 --out policies/surge-c-mu.toml\n  \
        handoff eval --scenario surge --policy policies/surge-c-mu.toml --policy c-mu --seeds 30\n  \
        handoff eval --policy 'c-mu@takeover_frustration=0.9,max_chats=3'")]
    Tune(tune::TuneArgs),
    /// Show where a policy leaves room: one-step lookahead per decision kind.
    ///
    /// At every decision of a kind (route, attend, assign) with more than one option, each
    /// option is played out for --horizon-s seconds under the base policy and the best is taken;
    /// the episode's return against the base policy's on the same seed says how much a better
    /// choice at that kind of decision can earn. Two rows per kind: on exact copies of the
    /// centre, which know the episode's future (an optimistic ceiling, never a result), and on
    /// forks, which keep what a dispatcher sees and draw the future afresh (a fair result: a
    /// policy could do this, slowly). Paired 95 % intervals over seeds.
    #[command(after_help = "Examples:\n  \
        handoff lookahead --scenario small --days 1 --policy taobao-c-mu\n  \
        handoff lookahead --scale 0.05 --days 1 --policy taobao-c-mu-theta --kinds attend --decisions 1000 --json")]
    Lookahead(lookahead::LookaheadArgs),
    /// Show a simulated day of one or two policies as an HTML page.
    ///
    /// Writes one self-contained file (inline SVG and a little JavaScript; nothing from the
    /// network): the centre's arrivals, queue, waiting customers, abandonments, workers on duty
    /// and AI chats over the day; one lane per worker with each chat held as a bar, the AI's
    /// chats and the queue in lanes of their own, coloured by how each chat reached its holder;
    /// clicking a chat shows its row of `simulate --csv`. With two policies (on the same
    /// customers) both days are drawn on one time axis and the twins whose reward differs most
    /// are listed, each linked to both bars. Open `PAGE.html#chat=ID` to start at a chat.
    #[command(after_help = "Examples:\n  \
        handoff replay --scenario small --policy c-mu --out small.html\n  \
        handoff replay --policy taobao-c-mu --policy 'taobao-c-mu@quickest_first=0' --out day.html\n  \
        handoff replay --scenario surge --days 3 --day 2 --policy c-mu --out surge-day2.html")]
    Replay(replay::ReplayArgs),
    /// Explain where two policies' decisions differ and what the difference earned.
    ///
    /// On each seed, the first policy's episode is run with the second asked at every decision
    /// what it would choose (counted, not applied), and the second's own episode on the same
    /// customers. Prints, by lever (route, attend, takeover, assign) and situation (load, the
    /// customer's frustration, the escalation), the share of decisions that differ; the chats
    /// handled differently; the paired difference of the reward split into its terms
    /// (satisfaction, duration, retrial, abandonment) and of the study's KPIs, each with a 95 %
    /// Student-t interval over seeds.
    #[command(after_help = "Examples:\n  \
        handoff explain c-mu 'c-mu@quickest_first=1' --scenario small --days 1\n  \
        handoff explain taobao-c-mu ckpt:runs/rollout --seeds 20 --first-seed 2000000 --json")]
    Explain(explain::ExplainArgs),
    /// List the built-in dispatch policies with their parameters, and the shipped tuned ones.
    Policies(policies::PoliciesArgs),
    /// List the built-in scenarios.
    Scenarios(scenarios::ScenariosArgs),
    /// Measure simulator, environment and learner speed.
    ///
    /// Simulates the whole study (both arms, one after the other, one core), steps the
    /// environment with a random masked policy encoding every observation, trains PPO on a small
    /// scenario (steps per second including updates) and times the trained policy's decisions
    /// at batch size 1. Build with --release to measure.
    Bench(bench::BenchArgs),
}

/// Help and version go out as clap prints them; a usage error becomes one line, like every other
/// error of the command line, with exit code 2.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("error: invalid arguments");
    // an invalid choice says what the choices are, on the same line
    let choices = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("[possible values:"))
        .map(|l| format!(" {l}"))
        .unwrap_or_default();
    eprintln!("{first}{choices} (see --help)");
    ExitCode::from(2)
}

fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::Simulate(args) => simulate::run(&args),
        Command::Calibrate(args) => calibrate::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Tune(args) => tune::run(&args),
        Command::FitLogs(args) => fit_logs::run(&args),
        Command::Lookahead(args) => lookahead::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Policies(args) => policies::run(&args),
        Command::Runs(args) => runs::run(&args),
        Command::Scenarios(args) => scenarios::run(&args),
        Command::Bench(args) => bench::run(&args),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    handoff::cli::interrupt::install();
    match run(cli) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        // a stop the user asked for (Ctrl-C) is not an error: it says where things stand
        Err(e) if e.code == handoff::cli::interrupt::EXIT_INTERRUPTED => {
            eprintln!("{}", e.message);
            ExitCode::from(e.code)
        }
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
