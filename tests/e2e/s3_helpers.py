"""Helpers for the S3 cache tests: a local moto S3 server with signature
checking on, and small misbehaving HTTP servers. Everything listens on
127.0.0.1 only.

moto checks SigV4 signatures only once authentication is enabled; it then
knows only the access keys of IAM users created in it. MotoS3 therefore
starts the server with authentication off, creates an IAM user with an
s3:* policy and an access key, turns authentication on for every later request
(POST /moto-api/reset-auth with 0), and creates the bucket with a signed
request using that key."""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

REGION = "us-east-1"
LOOPBACK_NO_PROXY = "127.0.0.1,localhost"

# Loopback traffic must never go through a proxy the environment may name
# (boto3 here, libcurl in the tool).
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = ",".join(filter(None, [os.environ.get(_name), LOOPBACK_NO_PROXY]))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=30.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class MotoS3:
    """A moto server subprocess on 127.0.0.1 with SigV4 checking enabled and
    one bucket. Attributes: endpoint, bucket, access_key, secret_key."""

    def __init__(self, bucket="sinter-cache"):
        self.bucket = bucket
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            wait_for_port(self.port, proc=self.proc)
            self._setup()
        except BaseException:
            self.close()
            raise

    def _client(self, service, access_key="setup", secret_key="setup"):
        import boto3  # a dependency of moto
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint,
                            aws_access_key_id=access_key, aws_secret_access_key=secret_key)

    def _setup(self):
        iam = self._client("iam")
        iam.create_user(UserName="sinter")
        iam.put_user_policy(UserName="sinter", PolicyName="s3-all", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="sinter")["AccessKey"]
        self.access_key = key["AccessKeyId"]
        self.secret_key = key["SecretAccessKey"]
        # Temporary credentials (key, secret, session token) of a role that may use S3.
        role = iam.create_role(RoleName="sinter-role", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                           "Action": "sts:AssumeRole"}]}))["Role"]
        iam.put_role_policy(RoleName="sinter-role", PolicyName="s3-all",
                            PolicyDocument=json.dumps({
                                "Version": "2012-10-17",
                                "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                               "Resource": "*"}]}))
        creds = self._client("sts").assume_role(RoleArn=role["Arn"],
                                                RoleSessionName="sinter-test")["Credentials"]
        self.session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        # From here on every request must carry a valid signature.
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=b"0",
                                     method="POST", headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(req, timeout=10).read()
        self.s3().create_bucket(Bucket=self.bucket)

    def s3(self, secret_key=None):
        """A boto3 S3 client signing with the user's key (or another secret)."""
        return self._client("s3", self.access_key, secret_key or self.secret_key)

    def env(self, **overrides):
        """Environment for the C tool: credentials, region and endpoint."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and not k.startswith("SINTER_")}
        env.update(AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key,
                   AWS_REGION=REGION, AWS_ENDPOINT_URL=self.endpoint)
        env.update({k: v for k, v in overrides.items() if v is not None})
        for k, v in overrides.items():
            if v is None:
                env.pop(k, None)
        return env

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


class StallingServer:
    """An HTTP server on 127.0.0.1 that misbehaves on every request. Modes:
    "stall": 200 with a Content-Length of `length`, `send` bytes of body, then
    silence with the connection open; "close": the same, then it closes the
    connection; "error": status `status` with an S3 XML error body (code
    `code`). Counts the requests it saw in `requests`."""

    def __init__(self, mode="stall", length=64 << 20, send=4096, status=503, code="SlowDown"):
        self.mode, self.length, self.send = mode, length, send
        self.status, self.code = status, code
        self.requests = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.stop = threading.Event()
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests += 1
            if self.mode == "error":
                body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{self.code}"
                        f"</Code><Message>Injected &lt;failure&gt; &amp; more</Message>"
                        f"<RequestId>1</RequestId></Error>").encode()
                conn.sendall(f"HTTP/1.1 {self.status} Injected\r\nContent-Type: application/xml"
                             f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                             .encode() + body)
                conn.close()
                return
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    f"Content-Length: {self.length}\r\n\r\n").encode()
            conn.sendall(head + b"x" * self.send)
            if self.mode == "close":
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            else:
                self.stop.wait(60)
        except OSError:
            pass

    def close(self):
        self.stop.set()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()
        self.thread.join(timeout=5)


def closed_port():
    """A loopback port with (very likely) nothing listening on it."""
    return free_port()


class FullBacklogServer:
    """A listening socket on 127.0.0.1 that never accepts, with its accept
    queue filled, so that new connection attempts get no answer (the kernel
    drops their SYNs) and time out, as with a black-holed address."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.fillers = []
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(c)
        time.sleep(0.2)

    def close(self):
        for c in self.fillers:
            c.close()
        self.sock.close()
