// agentgym: the one command of a training run.
//
//   agentgym train [--config FILE] [--set a.b=v ...] [--print-config]
//                  [--resume runs/<dir>] [--run-root runs]
//   agentgym eval --model DIR --envs maze[,babyai] [--split test] [--limit N]
//                 [--task-types T,...] [--greedy | --samples K] [--seed S] [--json FILE] [--trajectories FILE] [--env-server HOST:PORT]
//   agentgym eval --endpoint http://HOST:PORT/v1 --model-name NAME --envs ... (an OpenAI-compatible server)
//   agentgym ablate [--config FILE] [--variants fixed-short,fixed-long,paper-schedule,adaptive]
//                   [--seeds 3] [--parallel N] [--steps N] [--out DIR]
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "launcher/ablate_command.h"
#include "launcher/eval_command.h"
#include "launcher/train_command.h"

int main(int argc, char** argv) {
  CLI::App app{"agentgym: multi-turn RL for LLM agents (train, eval, ablate)"};
  app.require_subcommand(1);

  agentgym::launcher::TrainFlags train;
  CLI::App* train_cmd = app.add_subcommand(
      "train", "run a training job: coordinator, env servers, learner, actors; then eval");
  train_cmd->add_option("--config", train.config_path,
                        "run config (YAML); default: the embedded configs/tiny-grid-grpo.yaml")
      ->check(CLI::ExistingFile);
  train_cmd->add_option("--set", train.overrides, "config override key.path=value (repeatable)");
  train_cmd->add_flag("--print-config", train.print_config,
                      "print the resolved config and exit");
  train_cmd->add_flag("--prepare-only", train.prepare_only,
                     "write the run directory (configs, initial model) and exit; start the roles "
                     "yourself with --config <dir>/components.yaml (clusters: docs/deploy.md)");
  train_cmd->add_option("--resume", train.resume_dir,
                        "continue the run in this directory (runs/<name>-<time>)")
      ->check(CLI::ExistingDirectory);
  train_cmd->add_option("--run-root", train.run_root,
                        "where run directories go (default: run.run_root, 'runs')");
  train_cmd->add_option("--bin-dir", train.bin_dir,
                        "where agentgym-coordinator, -env-server, -learner, -actor are");
  train_cmd->add_option("--log-level", train.log_level, "trace|debug|info|warn|error");

  agentgym::launcher::EvalFlags eval;
  CLI::App* eval_cmd =
      app.add_subcommand("eval", "evaluate a model directory or an OpenAI-compatible endpoint on held-out tasks");
  CLI::Option* model_opt =
      eval_cmd->add_option("--model", eval.model_dir, "model directory (e.g. runs/X/checkpoints/latest)");
  CLI::Option* endpoint_opt = eval_cmd->add_option(
      "--endpoint", eval.endpoint, "an OpenAI-compatible chat-completions API instead, e.g. http://127.0.0.1:8000/v1");
  model_opt->excludes(endpoint_opt);
  eval_cmd->add_option("--model-name", eval.model_name, "the model the endpoint serves")->needs(endpoint_opt);
  eval_cmd
      ->add_option("--api-key-file", eval.api_key_file,
                   "a file holding the endpoint's API key (default: $OPENAI_API_KEY; never on the command line)")
      ->needs(endpoint_opt);
  eval_cmd
      ->add_option("--system-prompt", eval.system_prompt,
                   "with --endpoint: the system prompt before the env's action format")
      ->needs(endpoint_opt);
  eval_cmd->add_option("--temperature", eval.temperature, "sampling temperature with --samples");
  eval_cmd->add_option("--envs", eval.envs, "comma-separated envs, e.g. maze,babyai")->required();
  eval_cmd->add_option("--task-types", eval.task_types,
                       "comma-separated task types to evaluate, e.g. open4 (default: all)");
  eval_cmd->add_option("--split", eval.split, "test (default) or train");
  eval_cmd->add_option("--limit", eval.limit, "tasks per env (0: all)");
  eval_cmd->add_flag("--greedy", eval.greedy, "greedy decoding, one episode per task (default)");
  eval_cmd->add_option("--samples", eval.samples, "sampled episodes per task (pass@k style)");
  eval_cmd->add_option("--seed", eval.seed, "env and sampling seed");
  eval_cmd->add_option("--json", eval.json_path, "also write the report as JSON here");
  eval_cmd->add_option("--trajectories", eval.trajectory_out,
                       "also write every episode's trajectory (tokens, turns, rewards; with --endpoint the chat "
                       "transcript) as JSONL here");
  eval_cmd->add_option("--env-server", eval.env_server,
                       "HOST:PORT of a running env server (default: start one)");
  eval_cmd->add_option("--max-turns", eval.max_turns, "horizon (0: the env's recommendation)");
  eval_cmd->add_option("--max-new-tokens", eval.max_new_tokens, "tokens per agent turn");
  eval_cmd->add_option("--concurrent-episodes", eval.concurrent_episodes,
                       "episodes run at once");
  eval_cmd->add_option("--bin-dir", eval.bin_dir, "where agentgym-env-server is");
  eval_cmd->add_option("--log-level", eval.log_level, "trace|debug|info|warn|error");

  agentgym::launcher::AblateFlags ablate;
  CLI::App* ablate_cmd = app.add_subcommand(
      "ablate", "compare horizon curricula: a training run per variant and seed, held-out curves, a table and a plot");
  ablate_cmd->add_option("--config", ablate.config_path, "base run config (default: the embedded one)")
      ->check(CLI::ExistingFile);
  ablate_cmd->add_option("--set", ablate.overrides, "override for every variant, key.path=value (repeatable)");
  ablate_cmd->add_option("--variants", ablate.variants,
                         "comma-separated: fixed-short, fixed-long, paper-schedule, adaptive (default: all)");
  ablate_cmd->add_option("--seeds", ablate.seeds, "seeds per variant (default 3)");
  ablate_cmd->add_option("--parallel", ablate.parallel, "runs at once (default 1)");
  ablate_cmd->add_option("--steps", ablate.steps, "learner steps per run (default: run.total_steps)");
  ablate_cmd->add_option("--checkpoint-every", ablate.checkpoint_every,
                         "checkpoint (and evaluate) every N steps (default 25)");
  ablate_cmd->add_option("--out", ablate.out_dir, "results directory (default: <run_root>/ablate-<time>)");
  ablate_cmd->add_option("--eval-task-types", ablate.eval_task_types,
                         "task types of the held-out eval (default: those of the configured task ids)");
  ablate_cmd->add_option("--eval-limit", ablate.eval_limit, "held-out tasks per env (0: all)");
  ablate_cmd->add_option("--bin-dir", ablate.bin_dir, "where the component binaries are");
  ablate_cmd->add_option("--log-level", ablate.log_level, "trace|debug|info|warn|error");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (train_cmd->parsed()) return agentgym::launcher::RunTrain(train);
  if (ablate_cmd->parsed()) return agentgym::launcher::RunAblate(ablate, std::vector<std::string>(argv, argv + argc));
  if (eval_cmd->parsed()) {
    if (eval.model_dir.empty() == eval.endpoint.empty()) {
      std::cerr << "agentgym eval: give --model DIR or --endpoint URL --model-name NAME\n";
      return 2;
    }
    if (eval.samples < 0 || eval.limit < 0) {
      std::cerr << "agentgym eval: --samples and --limit must be >= 0\n";
      return 2;
    }
    return agentgym::launcher::RunEvalCommand(eval);
  }
  return 2;
}
