"""Runs an anchor script with its epoch timer on this process's CPU time instead of the wall clock,
so its "samples/s" become samples per CPU-second: on a shared, loaded machine that figure depends
much less on what else runs (nntune's benchmarks print the same figure for themselves).
usage: torch_cpu_rate.py ANCHOR_DIR SCRIPT ARGS...   (the anchor itself is not modified)"""
import os, runpy, sys, time
anchor_dir, script = sys.argv[1], sys.argv[2]
sys.argv = [script] + sys.argv[3:]
sys.path.insert(0, anchor_dir)
os.chdir(anchor_dir)
time.perf_counter = time.process_time  # one thread (OMP_NUM_THREADS=1): CPU time of the training loop
runpy.run_path(os.path.join(anchor_dir, script), run_name="__main__")
