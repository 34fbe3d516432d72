"""Fixtures of the boot proof (prefix rfb, subnet 10.99.0.0/24)."""
import json
import pathlib

from lab import virt

TIMES = pathlib.Path('/var/cache/reduced-footprint-tests/rfb-last-times.json')


def record_times(scenario, boot):
    """Figures of the last run, kept beside the cache and printed by -rA."""
    figures = dict(boot.times)
    # A rolled-back run renames its state file: take the newest one.
    states = sorted(boot.migration_work.glob('state.json*'),
                    key=lambda p: p.stat().st_mtime)
    if states:
        state_file = states[-1]
        state = json.loads(state_file.read_text())
        steps = state.get('steps', {})
        for name, entry in steps.items():
            if 'duration' in entry:
                figures['step_%s_s' % name] = round(entry['duration'], 1)
        copy = [steps.get(s, {}).get('duration') for s in ('warm_sync', 'final_sync')]
        if None not in copy:
            figures['copy_s'] = round(sum(copy), 1)
        if state.get('guest_answered') and state.get('downtime_started'):
            figures['downtime_s'] = round(
                state['guest_answered'] - state['downtime_started'], 1)
        if state.get('guest_answered') and state.get('guest_started'):
            figures['guest_boot_s'] = round(
                state['guest_answered'] - state['guest_started'], 1)
            if 'downtime_s' in figures:
                figures['downtime_without_boot_s'] = round(
                    figures['downtime_s'] - figures['guest_boot_s'], 1)
    figures['guest_type'] = {'qemu': 'qemu/TCG'}.get(virt.guest_virt_type(), 'kvm')
    if boot.watch:
        figures.update({k: round(v, 1) for k, v in boot.watch.figures().items()})
    figures = {k: (round(v, 1) if isinstance(v, float) else v)
               for k, v in figures.items()}
    try:
        old = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    except ValueError:
        old = {}
    old[scenario] = figures
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    TIMES.write_text(json.dumps(old, indent=1, sort_keys=True))
    print('\n%s figures: %s' % (scenario, json.dumps(figures, sort_keys=True)))
    return figures
