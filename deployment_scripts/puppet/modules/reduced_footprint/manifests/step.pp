# One step of the plugin's guest tasks: a command run from the plugin's
# folder on the node, with its output in the task's puppet log.
#
# The tasks are puppet tasks, not shell tasks, because Fuel 8.0's default
# (granular) deployment runs only puppet tasks in a role's group. The exec
# sets no cwd: it runs where Astute runs puppet, the task's cwd, which
# nailgun sets to this plugin's folder on the node
# (/etc/fuel/plugins/<name>-<major>/). No `path` either: the command is
# fully qualified and its script finds programs on the node's own PATH.
#
# [*command*]   the command: a fully qualified interpreter and a script
#               relative to the plugin folder.
# [*timeout*]   seconds before puppet stops it (the task's own timeout is
#               longer, so the failure comes with the command's output).
# [*tries*]     attempts; installs retry, as apt mirrors fail now and then.
# [*try_sleep*] seconds between attempts.
define reduced_footprint::step (
  $command,
  $timeout,
  $tries = 1,
  $try_sleep = 0,
) {
  exec { $title:
    command   => $command,
    logoutput => true,
    timeout   => $timeout,
    tries     => $tries,
    try_sleep => $try_sleep,
  }
}
