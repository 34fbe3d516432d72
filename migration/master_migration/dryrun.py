"""How --dry-run prints what a step would run. Each step's lines are
written by its own module, beside its run and from the same builders
(Remote, rsyncing, remote_sh); where a step decides at run time, the
check and each branch are printed. Nothing here runs a command."""
from __future__ import absolute_import, division, print_function

import copy

from rf_common.text import to_text

from master_migration import blockcopy, manifest, remote_sh
from master_migration.commands import shell_words
from master_migration.context import URI

SCRIPT_NAMES = dict((v, 'remote_sh.' + k) for k, v in vars(remote_sh).items()
                    if k.isupper() and isinstance(v, str))
SCRIPT_NAMES.update({
    manifest.RUN_WALKER: 'manifest.RUN_WALKER',
    manifest.RUN_GIVEN_WALKER: 'manifest.RUN_GIVEN_WALKER',
    blockcopy.RUN_PYTHON: 'blockcopy.RUN_PYTHON',
    blockcopy.WRITER: 'blockcopy.WRITER',
    to_text(manifest.walker_source()): 'manifest_walk.py'})
LOOP = '/dev/loopN'  # the loop device ATTACH prints at run time
CONTROL = '/tmp/rfm-ssh-XXXXXX/c'  # the shared ssh's socket, made at run time
WALKER = 'manifest_walk.py'


def named_script(name, text):
    """A step module's own script given inline: printed by its name."""
    SCRIPT_NAMES[text] = name
    return text


def named_scripts(line):
    """A printed command with each script given inline (sh -c) named."""
    for text, name in SCRIPT_NAMES.items():
        line = line.replace(shell_words([text]), '"$%s"' % name)
    return line


class CommandLines(object):
    """The lines of one step: `$ argv` here, `virt$ argv` on the virt
    node (over the ssh that header() prints), `(...)` a note."""

    def __init__(self, services_plan=None):
        self.services_plan, self.lines = services_plan, []

    def here(self, argv, stdin=None):
        self.lines.append('$ ' + shell_words(argv) + (
            '  < ' + stdin if stdin else ''))

    def there(self, argv, stdin=None):
        self.lines.append('virt$ ' + named_scripts(shell_words(argv)) + (
            '  < ' + stdin if stdin else ''))

    def script(self, script, args):
        self.there(['sh', '-s', '--'] + [str(a) for a in args],
                   SCRIPT_NAMES[script])

    def virsh(self, *args):
        self.there(['virsh', '-c', URI] + list(args))

    def note(self, text):
        self.lines.append('(%s)' % text)


def header(ctx):
    return ('"virt$" runs on the virt node: %s \'env LC_ALL=C LANG=C ...\'; '
            '"$" runs here' % shell_words(ctx.remote.ssh_options() + [
                ctx.remote.host, '--']))


def step_lines(ctx, step, services_plan=None):
    out = CommandLines(services_plan)
    step.commands(ctx, out)
    return out.lines


def shared(ctx):
    """ctx as the steps after stop_services see it: their ssh goes
    through the shared connection."""
    ctx = copy.copy(ctx)
    ctx.remote = copy.copy(ctx.remote)
    ctx.remote.control = CONTROL
    return ctx
