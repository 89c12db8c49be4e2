#!/usr/bin/env python3
"""The scheduler recipes of deploy/ (docs/many-machines.md) are valid and their commands work.

Usage: deploy_test.py NNTUNE_BINARY SOURCE_DIR WORK_DIR

- deploy/k8s/job.yaml parses as YAML, is a batch/v1 Job with parallelism, takes NNTUNE_STORAGE
  from a Secret (secretKeyRef) and holds no storage URL anywhere;
- the systemd unit's ExecStart (its ${VARS} from worker.env) and the Job's command run against
  the built binary on a study made for them and finish it with exit code 0; the unit's keys pass
  `systemd-analyze verify` where that tool exists (skipped otherwise);
- deploy/slurm/worker.sbatch runs under bash as Slurm would run it (its exit code is the
  worker's) and refuses to start without NNTUNE_STORAGE;
- docs/many-machines.md shows each file exactly as it is.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # not skipped: CI must check the manifests (scripts/deps.sh installs it)
    sys.exit("deploy_test.py: PyYAML is missing: install python3-yaml (scripts/deps.sh does)")

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message, file=sys.stderr)


def strings_in(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from strings_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings_in(v)
    elif node is not None:
        yield str(node)


URL = re.compile(r"(postgres(ql)?|sqlite)://", re.I)


# An NNTUNE_STORAGE left in the developer's shell must not reach the commands run here.
os.environ.pop("NNTUNE_STORAGE", None)


def make_study(binary, work, name, study):
    """A SQLite storage holding `study`: a three-point grid of an echo objective."""
    directory = os.path.join(work, name)
    os.makedirs(directory, exist_ok=True)
    spec = os.path.join(directory, "grid.yaml")
    with open(spec, "w") as f:
        f.write('space: {x: {choice: [1, 2, 3]}}\n'
                'tune: {objective: {command: "echo nntune: value {x}"}, sampler: grid}\n')
    url = "sqlite:///" + os.path.join(directory, "studies.db")
    subprocess.run([binary, "tune", spec, "--storage", url, "--study", study, "--create-only", "-q"], check=True)
    return directory, url


def run_worker(argv, env, cwd, what):
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    check(result.returncode == 0, f"{what}: {shlex.join(argv)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    check("finished: 3 new trials" in result.stdout, f"{what}: the worker did not run the study:\n{result.stdout}")
    return result


def kubernetes(binary, source, work):
    path = os.path.join(source, "deploy/k8s/job.yaml")
    with open(path) as f:
        documents = [d for d in yaml.safe_load_all(f) if d is not None]
    check(len(documents) == 1, "job.yaml: one document expected")
    job = documents[0]
    check(job.get("apiVersion") == "batch/v1" and job.get("kind") == "Job", "job.yaml: not a batch/v1 Job")
    spec = job["spec"]
    check(isinstance(spec.get("parallelism"), int) and spec["parallelism"] >= 1, "job.yaml: spec.parallelism >= 1")
    check("completions" not in spec, "job.yaml: a work queue Job has no completions")
    pod = spec["template"]["spec"]
    check(pod.get("restartPolicy") in ("Never", "OnFailure"), "job.yaml: a Job's pods need restartPolicy Never/OnFailure")
    for s in strings_in(job):
        check(not URL.search(s), f"job.yaml: a storage URL in the manifest: {s}")
    for container in pod["containers"]:
        env = {e["name"]: e for e in container.get("env", [])}
        storage = env.get("NNTUNE_STORAGE", {})
        ref = storage.get("valueFrom", {}).get("secretKeyRef", {})
        check("value" not in storage and ref.get("name") and ref.get("key"),
              "job.yaml: NNTUNE_STORAGE must come from valueFrom.secretKeyRef")
        argv = list(container.get("command", [])) + list(container.get("args", []))
        check(argv[:2] == ["nntune", "worker"], f"job.yaml: the container runs {argv}, not nntune worker")
        directory, url = make_study(binary, work, "k8s", argv[2])
        environment = dict(os.environ, NNTUNE_STORAGE=url)
        for e in container.get("env", []):
            if "value" in e:
                environment[e["name"]] = str(e["value"])
        run_worker([binary] + argv[1:], environment, directory, "job.yaml")


def kubernetes_on_postgres(binary, source, work):
    """The Job's command against a real PostgreSQL server, its URL (password included) given only
    as NNTUNE_STORAGE, as the Secret gives it (scripts/with_postgres.sh sets NNTUNE_TEST_POSTGRES_URL)."""
    url = os.environ.get("NNTUNE_TEST_POSTGRES_URL")
    if not url:
        print("NNTUNE_TEST_POSTGRES_URL not set: the Job's command is not run against PostgreSQL")
        return
    with open(os.path.join(source, "deploy/k8s/job.yaml")) as f:
        container = yaml.safe_load(f)["spec"]["template"]["spec"]["containers"][0]
    argv = list(container.get("command", [])) + list(container.get("args", []))
    directory = os.path.join(work, "k8s-postgres")
    os.makedirs(directory, exist_ok=True)
    spec = os.path.join(directory, "grid.yaml")
    with open(spec, "w") as f:
        f.write('space: {x: {choice: [1, 2, 3]}}\n'
                'tune: {objective: {command: "echo nntune: value {x}"}, sampler: grid}\n')
    environment = dict(os.environ, NNTUNE_STORAGE=url)
    study = argv[2]
    subprocess.run([binary, "delete", study, "--yes"], env=environment, capture_output=True)  # from an earlier run
    subprocess.run([binary, "tune", spec, "--study", study, "--create-only", "-q"], env=environment, check=True)
    result = run_worker([binary] + argv[1:], environment, directory, "job.yaml on PostgreSQL")
    password = re.sub(r"^[^:]*://[^:/@]*:([^@]*)@.*$", r"\1", url)
    if password and password != url:
        check(password not in result.stdout + result.stderr, "the worker printed the storage password")


def systemd(binary, source, work):
    unit_path = os.path.join(source, "deploy/systemd/nntune-worker@.service")
    env_path = os.path.join(source, "deploy/systemd/worker.env")
    sections, section = {}, None
    with open(unit_path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = sections.setdefault(line.strip("[]"), {})
                continue
            key, _, value = line.partition("=")
            section.setdefault(key, []).append(value)
    service = sections.get("Service", {})
    check("143" in " ".join(service.get("SuccessExitStatus", [])), "the unit must count exit code 143 (SIGTERM) as success")
    check(service.get("EnvironmentFile") == ["/etc/nntune/worker.env"], "the unit reads /etc/nntune/worker.env")
    with open(unit_path) as f:
        check(not URL.search(f.read()), "the unit holds a storage URL: it belongs in the EnvironmentFile")
    variables = {}
    with open(env_path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                variables[key] = value
    check("NNTUNE_STORAGE" in variables, "worker.env sets NNTUNE_STORAGE")
    (exec_start,) = service["ExecStart"]
    argv = [re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], word) for word in shlex.split(exec_start)]
    check(argv[0] == "/usr/local/bin/nntune" and argv[1] == "worker", f"ExecStart runs {argv}")
    directory, url = make_study(binary, work, "systemd", argv[2])
    environment = dict(os.environ, **variables)
    environment["NNTUNE_STORAGE"] = url  # the example's PostgreSQL server is not here
    run_worker([binary] + argv[1:], environment, directory, "nntune-worker@.service")

    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("systemd-analyze not installed: the unit's keys are not verified")
        return
    # An instance of the template, with paths that exist here, so that only the keys are judged.
    instance = os.path.join(work, "systemd", "nntune-worker@1.service")
    with open(unit_path) as f:
        text = f.read().replace("/usr/local/bin/nntune", binary).replace("/etc/nntune/worker.env", env_path)
    with open(instance, "w") as f:
        f.write(text)
    result = subprocess.run([analyze, "verify", instance], capture_output=True, text=True, timeout=60)
    complaints = [l for l in (result.stdout + result.stderr).splitlines() if "nntune-worker@" in l]
    check(not complaints, "systemd-analyze verify:\n" + "\n".join(complaints))


def slurm(binary, source, work):
    script = os.path.join(source, "deploy/slurm/worker.sbatch")
    subprocess.run(["bash", "-n", script], check=True)
    with open(script) as f:
        text = f.read()
    check("#SBATCH --array=" in text, "worker.sbatch is a job array (#SBATCH --array=)")
    directory, url = make_study(binary, work, "slurm", "fmnist")
    path = os.path.dirname(os.path.abspath(binary)) + os.pathsep + os.environ.get("PATH", "")
    slurm_env = dict(os.environ, PATH=path, NNTUNE_STUDY="fmnist", SLURM_ARRAY_TASK_ID="1", SLURM_ARRAY_JOB_ID="7",
                     SLURM_CPUS_PER_TASK="2")
    slurm_env.pop("NNTUNE_STORAGE", None)
    refused = subprocess.run(["bash", script], env=slurm_env, cwd=directory, capture_output=True, text=True, timeout=60)
    check(refused.returncode != 0 and "set NNTUNE_STORAGE" in refused.stderr,
          f"worker.sbatch without NNTUNE_STORAGE: exit {refused.returncode}: {refused.stderr}")
    slurm_env["NNTUNE_STORAGE"] = url
    run_worker(["bash", script], slurm_env, directory, "worker.sbatch")


def docs_show_the_files(source):
    with open(os.path.join(source, "docs/many-machines.md")) as f:
        doc = f.read()
    for name in ["deploy/k8s/job.yaml", "deploy/slurm/worker.sbatch", "deploy/systemd/nntune-worker@.service",
                 "deploy/systemd/worker.env"]:
        with open(os.path.join(source, name)) as f:
            check(f.read() in doc, f"docs/many-machines.md does not show {name} as it is (copy it into the doc)")


def main():
    binary, source, work = (os.path.abspath(a) for a in sys.argv[1:4])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    kubernetes(binary, source, work)
    kubernetes_on_postgres(binary, source, work)
    systemd(binary, source, work)
    slurm(binary, source, work)
    docs_show_the_files(source)
    if failures:
        print(f"{len(failures)} problem(s)", file=sys.stderr)
        return 1
    print("deploy recipes: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
