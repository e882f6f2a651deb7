"""Prints the figures of ``make bench`` from the trials' results (one JSON object a line,
written by bench/measure.py), against the targets of issue #5. Exit 0: missed targets
are printed as FAIL, they do not break the run."""
import json
import statistics
import sys

RATIO_TARGET = 2.0  # recompute <= 2 x the floor
RECOMPUTE_TARGET = 10.0  # seconds
PHONE_TARGET = 0.050  # seconds

with open(sys.argv[1]) as results:
    trials = [json.loads(line) for line in results if line.strip()]
if not trials:
    sys.exit("no trial results")
first = trials[0]
floor = min(t["floor"] for t in trials)
best = min(trials, key=lambda t: t["recompute"])
recompute = best["recompute"]
again = min(t["recompute_again"] for t in trials)
ratio = recompute / floor
ratio_again = again / floor


def verdict(ok):
    return "PASS" if ok else "FAIL"


def all_trials(key):
    return ", ".join(f"{t[key]:.3f}" for t in trials)


def queries(key):
    counts = sorted({t[key] for t in trials})
    return "/".join(str(c) for c in counts)


n = len(trials)
print()
print(f"make bench: {first['customers']:,} customers, {first['segments']} rule segments "
      f"(windows {first['windows']} days), {first['members']:,} memberships; "
      f"best of {n} trials, each on a fresh copy")
print(f"  (a) segment + RFM recompute, _cron_recompute(), first run (every membership "
      f"written):\n      {recompute:8.3f} s  {queries('recompute_queries')} queries  "
      f"[{all_trials('recompute')}]")
print(f"  (a') same, nightly (memberships in place, nothing changed):\n"
      f"      {again:8.3f} s  {queries('recompute_again_queries')} queries  "
      f"[{all_trials('recompute_again')}]")
print(f"  (b) floor, one hand-written SQL of the same facts:\n"
      f"      {floor:8.3f} s  {queries('floor_queries')} query  [{all_trials('floor')}]")
print(f"  (c) ratio recompute / floor: first run {ratio:.2f}, nightly {ratio_again:.2f}")
for label, key in (("name_search", "name_search"), ("search on phone", "search")):
    medians = [t["phone"][key]["median"] for t in trials]
    lookups = sum(t["phone"][key]["lookups"] for t in trials)
    print(f"  (d) phone lookup, {label}: {statistics.median(medians) * 1000:.1f} ms "
          f"median of {lookups} lookups, "
          f"{statistics.median(t['phone'][key]['queries'] for t in trials):.0f} queries each "
          f"(p95 {max(t['phone'][key]['p95'] for t in trials) * 1000:.1f} ms)")
phone = statistics.median(t["phone"]["name_search"]["median"] for t in trials)
phone_field = statistics.median(t["phone"]["search"]["median"] for t in trials)
print("targets:")
for label, seconds, ratio_ in (("first run", recompute, ratio), ("nightly", again, ratio_again)):
    print(f"  {verdict(ratio_ <= RATIO_TARGET)}  recompute ({label}) <= {RATIO_TARGET:g} x floor "
          f"({ratio_:.2f} x)")
    print(f"  {verdict(seconds <= RECOMPUTE_TARGET)}  recompute ({label}) <= "
          f"{RECOMPUTE_TARGET:g} s ({seconds:.2f} s)")
print(f"  {verdict(phone <= PHONE_TARGET)}  phone lookup, name_search <= "
      f"{PHONE_TARGET * 1000:g} ms ({phone * 1000:.1f} ms)")
print(f"  {verdict(phone_field <= PHONE_TARGET)}  phone lookup, search on the phone field <= "
      f"{PHONE_TARGET * 1000:g} ms ({phone_field * 1000:.1f} ms)")
