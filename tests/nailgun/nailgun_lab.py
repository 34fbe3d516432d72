"""The nailgun lab: Fuel's real API server (8.0 or 9.0) on loopback.

`tools/setup test` makes, per release, a Python 2.7 virtualenv with
nailgun's sources from ../shared/upstream/ and python-fuelclient of the same
release (.lab/nailgun-<release>/). This module runs them:

- one private PostgreSQL cluster (a database per release), started as the
  `postgres` user in a scratch folder, listening on 127.0.0.1 only;
- nailgun's own `manage.py syncdb` and `loaddefault`, then serve.py: the
  real API with Astute replaced by a recorder of the messages it would get;
- the release's deployment graph from fuel-library's tasks.yaml files of
  the same tag, loaded as `fuel rel --sync-deployment-tasks` does;
- the real `fuel`/`fuel2` commands (client.py) against it.
"""
import glob
import http.server
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
LAB = REPO / '.lab'
UPSTREAM = pathlib.Path(os.environ.get('RF_UPSTREAM') or
                        REPO.parent / 'shared' / 'upstream')
RELEASES = {'8.0': 'liberty-8.0', '9.0': 'mitaka-9.0'}
PG_BIN = pathlib.Path('/usr/lib/postgresql/15/bin')

MISSING = ('the nailgun lab for Fuel {release} is not set up: {why}. It needs '
           '{archive} (made from the upstream fuel-web repository: `git '
           'archive --prefix=fuel-web-{release}/ {release} nailgun LICENSE | '
           'gzip`, see tests/nailgun/README.md), then `tools/setup test`.')


def unavailable(release):
    """Why the lab of `release` cannot run, or None."""
    archive = UPSTREAM / 'fuel-web-{0}-nailgun.tar.gz'.format(release)
    tasks = UPSTREAM / 'fuel-library-{0}-tasks.tar.gz'.format(release)
    for path in (archive, tasks):
        if not path.is_file():
            return MISSING.format(release=release, archive=path,
                                  why='{0} is missing'.format(path))
    if not (LAB / 'nailgun-{0}'.format(release) / '.rf-ready').is_file():
        return MISSING.format(release=release, archive=archive,
                              why='.lab/nailgun-{0} was not made'
                              .format(release))
    return None


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for(what, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError('timed out after {0:.0f} s waiting for {1}'
                       .format(timeout, what))


class Mirror(object):
    """The lab's loopback web server, standing in for the master's (nginx on
    port 8080) and for the package mirrors: nailgun reads the Release file
    of each repository that has a priority, to pin it. /plugins/ serves the
    installed plugins' files (their repositories); any other .../Release is
    a mirror's, made up; anything else is 404."""

    RELEASE = ('Origin: {name}\nLabel: {name}\nSuite: {suite}\n'
               'Codename: {suite}\nArchitectures: amd64\n'
               'Components: main\nDescription: nailgun lab mirror\n')

    def __init__(self, plugins):
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                mirror.requests.append(self.path)
                body = mirror.answer(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.plugins = pathlib.Path(plugins)
        self.requests = []
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:{0}'.format(self.server.server_address[1])
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()

    def answer(self, path):
        parts = [p for p in path.split('?')[0].split('/') if p]
        if parts[:1] == ['plugins'] and '..' not in parts:
            local = self.plugins.joinpath(*parts[1:])
            return local.read_bytes() if local.is_file() else None
        if len(parts) >= 3 and parts[-1] == 'Release':
            return self.RELEASE.format(name=parts[0], suite=parts[-2]).encode()
        return None

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Postgres(object):
    """A throw-away PostgreSQL 15 cluster, trust auth, on 127.0.0.1."""

    def __init__(self):
        # Its own folder: the test's tmp folders are root's 0700, which the
        # postgres user cannot enter.
        self.root = pathlib.Path(tempfile.mkdtemp(prefix='rf-nailgun-pg-'))
        self.data = self.root / 'data'
        self.port = free_port()

    def _as_postgres(self, *cmd):
        subprocess.run(['runuser', '-u', 'postgres', '--'] + list(cmd),
                       check=True, stdout=subprocess.DEVNULL)

    def start(self):
        shutil.chown(str(self.root), 'postgres')
        self._as_postgres(str(PG_BIN / 'initdb'), '-A', 'trust', '-U',
                          'nailgun', '-D', str(self.data))
        options = ('-p {0} -k {1} -c listen_addresses=127.0.0.1 -c fsync=off '
                   '-c synchronous_commit=off -c full_page_writes=off'
                   .format(self.port, self.root))
        self._as_postgres(str(PG_BIN / 'pg_ctl'), '-D', str(self.data), '-w',
                          '-l', str(self.root / 'log'), '-o', options, 'start')
        return self

    def create_db(self, name):
        subprocess.run([str(PG_BIN / 'createdb'), '-h', '127.0.0.1', '-p',
                        str(self.port), '-U', 'nailgun', name], check=True)

    def stop(self):
        if (self.data / 'postmaster.pid').exists():
            self._as_postgres(str(PG_BIN / 'pg_ctl'), '-D', str(self.data),
                              '-m', 'immediate', 'stop')
        shutil.rmtree(str(self.root), ignore_errors=True)


class ApiError(Exception):
    def __init__(self, method, path, status, body):
        self.status, self.body = status, body
        Exception.__init__(self, '{0} {1}: HTTP {2}: {3}'.format(
            method, path, status, body[:2000]))


class Nailgun(object):
    """One release's nailgun, served on loopback, with its client."""

    ApiError = ApiError
    started = 0

    def __init__(self, release, root, postgres):
        self.release = release
        self.root = pathlib.Path(root)
        self.postgres = postgres
        self.home = LAB / 'nailgun-{0}'.format(release)
        self.interpreter = self.home / 'venv' / 'bin' / 'python'
        self.port = free_port()
        self.plugins = self.root / 'plugins-root' / 'var/www/nailgun/plugins'
        self.messages_file = self.root / 'astute-messages.jsonl'
        self.logs = self.root / 'logs'
        self.process = None
        self.mirror = None

    # -- start and stop

    def start(self):
        self.plugins.mkdir(parents=True)
        self.logs.mkdir()
        self.messages_file.touch()
        Nailgun.started += 1
        db = 'nailgun{0}_{1}'.format(self.release.replace('.', ''), Nailgun.started)
        self.postgres.create_db(db)
        self.mirror = Mirror(self.plugins)
        self.config = self.root / 'nailgun.yaml'
        self.config.write_text(yaml.safe_dump({
            'DATABASE': {'engine': 'postgresql', 'name': db,
                         'host': '127.0.0.1', 'port': str(self.postgres.port),
                         'user': 'nailgun', 'passwd': ''},
            'PLUGINS_PATH': str(self.plugins),
            'PLUGINS_REPO_URL': self.mirror.url + '/plugins/{plugin_name}/',
            'AUTH': {'AUTHENTICATION_METHOD': 'none'},
            'NAILGUN_LOG_FILE': str(self.logs / 'nailgun.log'),
            'API_LOG': str(self.logs / 'api.log'),
            'RPC_CONSUMER_LOG_PATH': str(self.logs / 'receiverd.log'),
            'ASSASSIN_LOG_PATH': str(self.logs / 'assassind.log'),
            'STATS_LOGS_PATH': str(self.logs),
        }))
        for action in ('syncdb', 'loaddefault'):
            self._manage(action)
        self.server_log = open(str(self.logs / 'serve.out'), 'wb')
        self.process = subprocess.Popen(
            [str(self.interpreter), str(HERE / 'serve.py'), str(self.port),
             str(self.messages_file)],
            cwd=str(self.home / 'src' / 'nailgun'), env=self._env(),
            stdout=self.server_log, stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_for('nailgun {0} on port {1}'.format(self.release, self.port),
                 self._answers)
        self.release_id = self._release_id()
        self.load_release_graph()
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process:
            self.server_log.close()
        if self.mirror:
            self.mirror.stop()

    def _env(self):
        env = dict(os.environ, NAILGUN_CONFIG=str(self.config),
                   LC_ALL='C.UTF-8')
        env.pop('PYTHONPATH', None)
        return env

    def _manage(self, action):
        subprocess.run([str(self.interpreter), 'manage.py', action],
                       cwd=str(self.home / 'src' / 'nailgun'), env=self._env(),
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def _answers(self):
        if self.process.poll() is not None:
            raise RuntimeError('nailgun {0} exited {1}: see {2}'.format(
                self.release, self.process.returncode, self.logs))
        try:
            return self.get('/api/version')['release'] == self.release
        except (OSError, ApiError):
            return False

    def _release_id(self):
        for release in self.get('/api/releases/'):
            if (release['version'] == RELEASES[self.release] and
                    release['operating_system'] == 'Ubuntu' and
                    'UCA' not in release['name']):
                return release['id']
        raise RuntimeError('nailgun {0} has no Ubuntu release {1}'.format(
            self.release, RELEASES[self.release]))

    def load_release_graph(self):
        """The release's graph from fuel-library, as on a real master."""
        tasks = []
        archive = UPSTREAM / 'fuel-library-{0}-tasks.tar.gz'.format(
            self.release)
        with tarfile.open(str(archive)) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                if member.name.endswith('/tasks.yaml'):
                    tasks += yaml.safe_load(tar.extractfile(member)) or []
        self.put('/api/releases/{0}/deployment_tasks/'.format(self.release_id),
                 tasks)
        self.core_task_ids = {t['id'] for t in tasks}

    def python(self, code, *args):
        """Run Python 2.7 code with nailgun importable (its own modules, for
        what the API does not expose); stdout as text."""
        return subprocess.run(
            [str(self.interpreter), '-c', code] + list(args),
            cwd=str(self.home / 'src' / 'nailgun'), env=self._env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, check=True).stdout

    # -- HTTP, as the client and the UI talk to it

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            'http://127.0.0.1:{0}{1}'.format(self.port, path), data=data,
            method=method, headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as err:
            raise ApiError(method, path, err.code, err.read().decode())
        return json.loads(text) if text.strip() else None

    def get(self, path):
        return self.call('GET', path)

    def put(self, path, body):
        return self.call('PUT', path, body)

    def post(self, path, body):
        return self.call('POST', path, body)

    # -- the operator's client

    def fuel(self, *args, **kwargs):
        """Run `fuel ARGS` (or `fuel2` with fuel2=True); a CompletedProcess."""
        settings = self.root / 'fuelclient.yaml'
        if not settings.exists():
            settings.write_text(yaml.safe_dump(self._client_settings()))
        env = dict(os.environ, FUELCLIENT_CUSTOM_SETTINGS=str(settings),
                   RF_LAB_PLUGINS=str(self.plugins),
                   RF_LAB_ROOT=str(self.root / 'plugins-root'),
                   PATH=str(HERE / 'bin') + ':' + os.environ['PATH'],
                   LC_ALL='C.UTF-8')
        command = 'fuel2' if kwargs.get('fuel2') else 'fuel'
        return subprocess.run(
            [str(self.interpreter), str(HERE / 'client.py'), command] + list(args),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True, timeout=300)

    def _client_settings(self):
        # The 8.0 client names the port LISTEN_PORT and the credentials
        # KEYSTONE_*; 9.0 deprecated those for SERVER_PORT and OS_*.
        if self.release == '8.0':
            return {'SERVER_ADDRESS': '127.0.0.1', 'LISTEN_PORT': str(self.port),
                    'KEYSTONE_USER': 'admin', 'KEYSTONE_PASS': 'admin'}
        return {'SERVER_ADDRESS': '127.0.0.1', 'SERVER_PORT': str(self.port),
                'OS_USERNAME': 'admin', 'OS_PASSWORD': 'admin',
                'OS_TENANT_NAME': 'admin'}

    # -- what Astute would have been sent

    def messages(self):
        with open(str(self.messages_file)) as stream:
            return [json.loads(line) for line in stream if line.strip()]

    def log_errors(self):
        """ERROR lines of nailgun's own logs (unhandled exceptions are logged
        so), but for the start-up's complaints about the files of a real
        master that the lab has not (/etc/nailgun/settings.yaml,
        /etc/fuel_release)."""
        found = []
        for path in sorted(glob.glob(str(self.logs / '*'))):
            with open(path, errors='replace') as stream:
                for line in stream:
                    if ' ERROR [' in line and '(settings)' not in line:
                        found.append('{0}: {1}'.format(path, line.rstrip()))
        return found
