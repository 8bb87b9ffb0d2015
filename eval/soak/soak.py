#!/usr/bin/env python3
"""The soak benchmark of `hoiluat serve` (eval/README.md, "Soak"; not part of CI).

For `--minutes` it keeps a mixed load on one service on 127.0.0.1: signed webhooks of the three
chat channels (Zalo OA, Zalo Bot, Telegram), the web widget (`POST /v1/chat`), `POST /v1/ask`, and
staff who sign in and review flagged answers. The platforms are played by one local HTTP server
speaking their protocols, which fails 10 % of the sends (HTTP 5xx, which the service retries).
At random points the service is killed with SIGKILL and started again on the same data. Webhooks
that got no 200 (the service was down) are delivered again, as the platforms do, until one is
acknowledged. After the load, the service gets `--drain` seconds to finish what it owes, then
the run is checked against the database and what the fake platforms received:

- lost: an acknowledged webhook message that neither reached its chat nor ended recorded as
  failed (flagged for staff), or a review whose delivery never ended; must be 0;
- duplicate deliveries: a reply part sent more than once, from the service's delivery records (a
  kill between the send and its record makes the restart send it again: at least once, never
  silently dropped); also the identical texts one chat received, an upper bound that counts a
  question and its follow-up answered with the same articles;
- RSS of the service over time (each process lifetime), sampled every 10 s.

Only the standard library; Python 3.9+.
"""

import argparse
import hashlib
import http.client
import http.server
import json
import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

OA_APP_ID = "1234567890"
OA_SECRET = "soak-oa-secret-key"
BOT_TOKEN = "1234:soak-zalo-bot"
BOT_SECRET = "soak-bot-secret"
TG_TOKEN = "5678:soak-telegram"
TG_SECRET = "soak-telegram-secret"
STAFF_USER = "soak"
STAFF_PASSWORD = "mật-khẩu-soak-đủ-dài"

# Questions citizens ask, with follow-ups (a user sends one or two).
QUESTIONS = [
    ("Nam nữ bao nhiêu tuổi thì được kết hôn?", "Nếu chưa đủ tuổi thì sao?"),
    ("Thủ tục đăng ký kết hôn cần giấy tờ gì?", "Nộp hồ sơ ở đâu?"),
    ("Đăng ký khai sinh cho con cần những gì?", "Mất bao lâu?"),
    ("Vợ đang mang thai chồng có được ly hôn không?", "Còn vợ thì sao?"),
    ("Con nuôi có quyền thừa kế không?", None),
    ("Cha mẹ có nghĩa vụ gì với con chưa thành niên?", None),
    ("ket hon voi nguoi nuoc ngoai can thu tuc gi", "nop o dau"),
    ("Tài sản riêng của vợ chồng gồm những gì?", "Chia thế nào khi ly hôn?"),
    ("Đăng ký lại khai sinh khi bị mất giấy khai sinh?", None),
    ("Trích lục hộ tịch là gì?", None),
    ("Ai có quyền yêu cầu hủy kết hôn trái pháp luật?", None),
    ("Kế hoạch chuyển đổi số trong phổ biến pháp luật của Quảng Ngãi có mục tiêu gì?", None),
    ("Tôi bị chồng đánh, muốn ly hôn thì làm thế nào?", None),
    ("Mua bán đất cần thủ tục gì?", None),
]


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The platforms


class Platforms:
    """What the fake platforms received: every successful send, by channel and chat."""

    def __init__(self, failure_rate):
        self.failure_rate = failure_rate
        self.lock = threading.Lock()
        self.sent = []  # (channel, chat, text)
        self.failed_sends = 0
        self.random = random.Random(7)

    def record(self, channel, chat, text):
        with self.lock:
            if self.random.random() < self.failure_rate:
                self.failed_sends += 1
                return False
            self.sent.append((channel, str(chat), text))
            return True


def platform_handler(platforms):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            path = urllib.parse.urlparse(self.path).path
            if path == "/v3.0/oa/message/cs":
                chat = body.get("recipient", {}).get("user_id", "")
                if platforms.record("zalo_oa", chat, body.get("message", {}).get("text", "")):
                    return self.reply(200, {"error": 0, "message": "Success", "data": {"message_id": uuid.uuid4().hex}})
                return self.reply(500, {"error": -1, "message": "Internal Server Error"})
            if path == "/v4/oa/access_token":
                return self.reply(200, {"access_token": "soak-access-2", "refresh_token": "soak-refresh-2", "expires_in": "90000"})
            match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
            if not match:
                return self.reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            token, method = match.group(1), match.group(2).lower()
            channel = {BOT_TOKEN: "zalo_bot", TG_TOKEN: "telegram"}.get(token)
            if channel is None:
                return self.reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            if method != "sendmessage":
                return self.reply(200, {"ok": True, "result": True})
            chat = body.get("chat_id", "")
            if not platforms.record(channel, chat, body.get("text", "")):
                return self.reply(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
            if channel == "zalo_bot":
                result = {"message_id": uuid.uuid4().hex, "date": int(time.time() * 1000)}
            else:
                result = {
                    "message_id": random.randint(1, 2**31),
                    "from": {"id": 7012345678, "is_bot": True, "first_name": "Hỏi Luật"},
                    "chat": {"id": chat, "first_name": "Dân", "type": "private"},
                    "date": int(time.time()),
                    "text": "…",
                }
            return self.reply(200, {"ok": True, "result": result})

    return Handler


# ---------------------------------------------------------------------------------------------
# The service


class Service:
    def __init__(self, binary, config, port, log_path):
        self.binary, self.config, self.port = binary, config, port
        self.log = open(log_path, "ab")
        self.process = None
        self.lock = threading.Lock()
        self.starts = []  # (time started, time ready)
        self.kills = []

    def start(self):
        with self.lock:
            started = time.time()
            self.process = subprocess.Popen(
                [self.binary, "--config", self.config, "serve"],
                stdout=self.log, stderr=self.log, env={**os.environ, "RUST_LOG": "info"})
        deadline = time.time() + 900
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"hoiluat serve exited with {self.process.returncode} (see the log)")
            if http_status(self.port, "GET", "/readyz") == 200:
                self.starts.append((started, time.time()))
                return
            time.sleep(0.2)
        raise SystemExit("hoiluat serve was not ready within 15 minutes")

    def kill(self):
        with self.lock:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills.append(time.time())

    def rss_kib(self):
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except (OSError, AttributeError):
            return None
        return None

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def http_status(port, method, path, body=None, headers=None, timeout=5):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status
    except (OSError, http.client.HTTPException):
        return None


def request(port, method, path, body=None, headers=None, timeout=120):
    """(status, headers, body bytes) or None when the service is not there."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        return response.status, response.getheaders(), data
    except (OSError, http.client.HTTPException):
        return None


# ---------------------------------------------------------------------------------------------
# The load


class Load:
    def __init__(self, port, seed):
        self.port = port
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.acknowledged = []  # (channel, external id, chat, question)
        self.redeliveries = 0
        self.counts = {}  # kind -> [ok, failed]
        self.latencies = {}  # kind -> [seconds]
        self.next_user = 0

    def count(self, kind, ok, seconds=None):
        with self.lock:
            entry = self.counts.setdefault(kind, [0, 0])
            entry[0 if ok else 1] += 1
            if ok and seconds is not None:
                self.latencies.setdefault(kind, []).append(seconds)

    def new_user(self):
        with self.lock:
            self.next_user += 1
            return self.next_user

    # A platform delivers a webhook until it is acknowledged (the service may be down).
    def deliver(self, channel, external_id, chat, question, path, body, headers, stop):
        first = True
        while True:
            started = time.time()
            got = request(self.port, "POST", path, body, headers, timeout=30)
            if got and got[0] == 200:
                with self.lock:
                    self.acknowledged.append((channel, external_id, chat, question))
                self.count(f"webhook {channel}", True, time.time() - started)
                return
            if not first:
                with self.lock:
                    self.redeliveries += 1
            first = False
            if stop.is_set() and time.time() > stop.deadline:
                self.count(f"webhook {channel}", False)
                return
            time.sleep(1)

    def zalo_oa(self, user, external_id, text, stop):
        timestamp = str(int(time.time() * 1000))
        body = json.dumps({
            "app_id": OA_APP_ID, "sender": {"id": f"oa-user-{user}"}, "recipient": {"id": "579745863508352884"},
            "event_name": "user_send_text", "message": {"text": text, "msg_id": external_id},
            "timestamp": timestamp,
        }, ensure_ascii=False).encode()
        mac = hashlib.sha256(OA_APP_ID.encode() + body + timestamp.encode() + OA_SECRET.encode()).hexdigest()
        headers = {"content-type": "application/json", "x-zevent-signature": f"mac={mac}"}
        self.deliver("zalo_oa", external_id, f"oa-user-{user}", text, "/webhooks/zalo-oa", body, headers, stop)

    def zalo_bot(self, user, external_id, text, stop):
        body = json.dumps({"ok": True, "result": {"event_name": "message.text.received", "message": {
            "message_id": external_id, "from": {"id": f"bot-user-{user}", "display_name": "Dân"},
            "chat": {"id": f"bot-chat-{user}", "chat_type": "PRIVATE"}, "date": int(time.time() * 1000),
            "text": text}}}, ensure_ascii=False).encode()
        headers = {"content-type": "application/json", "x-bot-api-secret-token": BOT_SECRET}
        self.deliver("zalo_bot", f"message.text.received:bot-chat-{user}:{external_id}", f"bot-chat-{user}",
                     text, "/webhooks/zalo-bot", body, headers, stop)

    def telegram(self, user, update_id, text, stop):
        chat = 100000 + user
        body = json.dumps({"update_id": update_id, "message": {
            "message_id": update_id % 100000, "from": {"id": chat, "is_bot": False, "first_name": "Dân"},
            "chat": {"id": chat, "first_name": "Dân", "type": "private"}, "date": int(time.time()),
            "text": text}}, ensure_ascii=False).encode()
        headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": TG_SECRET}
        self.deliver("telegram", str(update_id), str(chat), text, "/webhooks/telegram", body, headers, stop)

    def conversation(self, channel, stop):
        """One user: a question, sometimes a follow-up a few seconds later."""
        user = self.new_user()
        question, follow_up = self.random.choice(QUESTIONS)
        texts = [question] + ([follow_up] if follow_up and self.random.random() < 0.6 else [])
        for n, text in enumerate(texts):
            if n:
                time.sleep(self.random.uniform(2, 8))
            if channel == "zalo_oa":
                self.zalo_oa(user, f"soak-{user}-{n}", text, stop)
            elif channel == "zalo_bot":
                self.zalo_bot(user, f"soak-{user}-{n}", text, stop)
            else:
                self.telegram(user, user * 10 + n, text, stop)

    def widget(self):
        question, _ = self.random.choice(QUESTIONS)
        started = time.time()
        got = request(self.port, "POST", "/v1/chat", json.dumps({"message": question}).encode(),
                      {"content-type": "application/json"})
        ok = bool(got and got[0] == 200 and b'"type":"done"' in got[2])
        self.count("widget /v1/chat", ok, time.time() - started)

    def api(self):
        question, _ = self.random.choice(QUESTIONS)
        started = time.time()
        got = request(self.port, "POST", "/v1/ask", json.dumps({"question": question}).encode(),
                      {"content-type": "application/json"})
        self.count("/v1/ask", bool(got and got[0] == 200), time.time() - started)

    def staff(self):
        """Signs in, opens the queue, reviews (approves) the newest pending answer of a chat channel."""
        started = time.time()
        page = request(self.port, "GET", "/staff/login")
        if not page or page[0] != 200:
            return self.count("staff sign-in", False)
        login = cookie(page[1], "hl_login")
        form = urllib.parse.urlencode({"csrf": login, "username": STAFF_USER, "password": STAFF_PASSWORD})
        signed = request(self.port, "POST", "/staff/login", form.encode(), {
            "content-type": "application/x-www-form-urlencoded", "cookie": f"hl_login={login}"})
        session = cookie(signed[1], "hl_staff") if signed else None
        self.count("staff sign-in", bool(signed and signed[0] == 303 and session), time.time() - started)
        if not session:
            return
        headers = {"cookie": f"hl_staff={session}"}
        for channel in ("zalo_bot", "telegram", "zalo_oa"):
            queue = request(self.port, "GET", f"/staff?channel={channel}", headers=headers)
            if not queue or queue[0] != 200:
                return self.count("staff review", False)
            ids = re.findall(r'href="/staff/answers/(\d+)"', queue[2].decode())
            if ids:
                break
        else:
            return
        answer = ids[0]
        started = time.time()
        review_page = request(self.port, "GET", f"/staff/answers/{answer}", headers=headers)
        if not review_page or review_page[0] != 200:
            return self.count("staff review", False)
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', review_page[2].decode())
        if not csrf:
            return  # reviewed already
        form = urllib.parse.urlencode({"csrf": csrf.group(1), "decision": "approved", "note": "soak"})
        done = request(self.port, "POST", f"/staff/answers/{answer}/review", form.encode(), {
            **headers, "content-type": "application/x-www-form-urlencoded"})
        self.count("staff review", bool(done and done[0] in (303, 409)), time.time() - started)


def cookie(headers, name):
    for key, value in headers:
        if key.lower() == "set-cookie" and value.startswith(f"{name}="):
            token = value.split(";", 1)[0].split("=", 1)[1]
            return token or None
    return None


def run_load(load, stop, rate):
    """Starts one thread per event at `rate` events per second, mixed by weight."""
    kinds = [("zalo_oa", 3), ("zalo_bot", 3), ("telegram", 3), ("widget", 2), ("api", 2), ("staff", 0.4)]
    total = sum(weight for _, weight in kinds)
    threads = []
    while not stop.is_set():
        pick = load.random.uniform(0, total)
        for kind, weight in kinds:
            pick -= weight
            if pick <= 0:
                break
        if kind in ("zalo_oa", "zalo_bot", "telegram"):
            target = (load.conversation, (kind, stop))
        else:
            target = (getattr(load, kind), ())
        thread = threading.Thread(target=target[0], args=target[1], daemon=True)
        thread.start()
        threads.append(thread)
        stop.wait(load.random.expovariate(rate))
    return threads


# ---------------------------------------------------------------------------------------------
# The run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--corpus", required=True, help="a small corpus directory")
    parser.add_argument("--models", required=True)
    parser.add_argument("--prompts", required=True)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=0.6, help="load events per second")
    parser.add_argument("--kills", type=int, default=6, help="SIGKILLs during the load")
    parser.add_argument("--calm-minutes", type=float, default=8,
                        help="the last minutes of the load without kills (memory over one lifetime)")
    parser.add_argument("--drain", type=float, default=300)
    parser.add_argument("--failure-rate", type=float, default=0.10)
    parser.add_argument("--out", required=True, help="the JSON result")
    args = parser.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    platforms = Platforms(args.failure_rate)
    fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), platform_handler(platforms))
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    fake_url = f"http://127.0.0.1:{fake.server_address[1]}"
    with socketless_port() as port:
        pass
    data_dir = os.path.join(args.workdir, "data")
    config = os.path.join(args.workdir, "hoiluat.toml")
    with open(config, "w") as out:
        out.write(f"""[server]
bind = "127.0.0.1:{port}"
[paths]
corpus_dir = {json.dumps(args.corpus)}
data_dir = {json.dumps(data_dir)}
models_dir = {json.dumps(args.models)}
prompts_dir = {json.dumps(args.prompts)}
[log]
format = "json"
[channels]
retry_base_ms = 200
[channels.zalo_oa]
enabled = true
app_id = "{OA_APP_ID}"
oa_secret_key = "{OA_SECRET}"
app_secret = "soak-app-secret"
access_token = "soak-access-1"
refresh_token = "soak-refresh-1"
api_base = "{fake_url}"
oauth_base = "{fake_url}"
[channels.zalo_bot]
enabled = true
token = "{BOT_TOKEN}"
secret_token = "{BOT_SECRET}"
api_base = "{fake_url}"
[channels.telegram]
enabled = true
token = "{TG_TOKEN}"
secret_token = "{TG_SECRET}"
api_url = "{fake_url}/"
[staff]
secure_cookies = false
""")
    subprocess.run([args.binary, "--config", config, "staff", "add", "--username", STAFF_USER,
                    "--display-name", "Cán bộ soak", "--role", "reviewer"],
                   env={**os.environ, "HOILUAT_STAFF_PASSWORD": STAFF_PASSWORD}, check=True,
                   stdout=subprocess.DEVNULL)
    service = Service(args.binary, config, port, os.path.join(args.workdir, "hoiluat.log"))
    log("first start (ingests the small corpus)")
    service.start()
    log("ready; load for", args.minutes, "minutes")

    rss = []  # (seconds since the load began, process number, KiB)
    began = time.time()
    end = began + args.minutes * 60
    kill_until = end - args.calm_minutes * 60
    kill_times = sorted(random.Random(11).uniform(began + 60, kill_until) for _ in range(args.kills))
    load = Load(port, seed=3)
    stop = threading.Event()
    stop.deadline = end + args.drain
    loader = threading.Thread(target=lambda: setattr(load, "threads", run_load(load, stop, args.rate)), daemon=True)
    loader.start()
    process_number = 1
    next_sample = time.time()
    while time.time() < end:
        now = time.time()
        if kill_times and now >= kill_times[0]:
            kill_times.pop(0)
            log("SIGKILL")
            service.kill()
            time.sleep(random.uniform(0, 5))
            service.start()
            process_number += 1
            log("restarted, ready")
        if now >= next_sample:
            kib = service.rss_kib()
            if kib:
                rss.append((round(now - began), process_number, kib))
            next_sample = now + 10
        time.sleep(0.5)
    stop.set()
    log("load over; draining")
    loader.join()
    for thread in getattr(load, "threads", []):
        thread.join(max(0.0, stop.deadline - time.time()))
    drain_until = time.time() + args.drain
    database = os.path.join(data_dir, "hoiluat.sqlite3")
    while time.time() < drain_until:
        owed = owed_count(database)
        if owed == 0:
            break
        kib = service.rss_kib()
        if kib:
            rss.append((round(time.time() - began), process_number, kib))
        time.sleep(5)
    time.sleep(3)
    result = check(load, platforms, database)
    result.update({
        "minutes": args.minutes, "rate_per_second": args.rate, "failure_rate": args.failure_rate,
        "kills": len(service.kills), "restarts_ready": len(service.starts) - 1,
        "restart_seconds": [round(ready - started, 1) for started, ready in service.starts[1:]],
        "redeliveries": load.redeliveries, "load": summarise(load), "rss": rss,
        "platform_failed_sends": platforms.failed_sends, "platform_sends": len(platforms.sent),
    })
    service.stop()
    fake.shutdown()
    with open(args.out, "w") as out:
        json.dump(result, out, indent=1, ensure_ascii=False)
    log("lost", result["lost"], "duplicates", result["duplicate_deliveries"])


class socketless_port:
    """A free port on 127.0.0.1, picked by binding and releasing it."""

    def __enter__(self):
        import socket
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        return self.port

    def __exit__(self, *exc):
        return False


def owed_count(database):
    """Messages still owed an answer, and reviews still owed a delivery."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
            messages = db.execute("SELECT count(*) FROM messages WHERE status = 'received'").fetchone()[0]
            reviews = db.execute("SELECT count(*) FROM reviews WHERE delivery_status = 'pending'").fetchone()[0]
            return messages + reviews
    except sqlite3.Error:
        return -1


def check(load, platforms, database):
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        rows = {
            (channel, external): (status, error, flagged)
            for channel, external, status, error, flagged in db.execute(
                """SELECT m.channel, m.external_id, m.status, m.error,
                          EXISTS (SELECT 1 FROM flags f JOIN answers a ON a.id = f.answer_id
                                  WHERE a.message_id = m.id
                                    AND f.reason IN ('delivery_failed', 'handling_failed'))
                   FROM messages m""")
        }
        reviews = db.execute(
            "SELECT COALESCE(delivery_status, 'none'), count(*) FROM reviews GROUP BY 1").fetchall()
        flagged_failures = db.execute(
            "SELECT count(*) FROM flags WHERE reason IN ('delivery_failed', 'handling_failed')").fetchone()[0]
        web = db.execute(
            "SELECT status, count(*) FROM messages WHERE channel IN ('web', 'api') GROUP BY 1").fetchall()
        # A part sent again: per message, its reply's parts (sent before any review of its answer)
        # and its reviewed answer's parts (sent after) are each sent once; more rows of one part
        # are re-sends (a kill between a send and its record).
        resent = db.execute(
            """SELECT COALESCE(sum(n - 1), 0) FROM (
                 SELECT d.message_id, d.part, d.at >= COALESCE(r.created_at, '9999') AS of_review,
                        count(*) AS n
                 FROM deliveries d
                 LEFT JOIN answers a ON a.id = d.answer_id
                 LEFT JOIN reviews r ON r.answer_id = a.id
                 WHERE d.status = 'sent'
                 GROUP BY 1, 2, 3)""").fetchone()[0]
    received = {}
    for channel, chat, text in platforms.sent:
        received.setdefault((channel, chat), []).append(text)
    lost, failed_recorded, statuses = [], 0, {}
    for channel, external, chat, question in load.acknowledged:
        status, error, flagged = rows.get((channel, external), ("missing", None, False))
        statuses[status] = statuses.get(status, 0) + 1
        if status == "failed" and flagged:
            # Not delivered, but recorded with why and put in the staff queue.
            failed_recorded += 1
        elif status in ("answered", "rate_limited", "ignored") and received.get((channel, chat)):
            pass
        else:
            lost.append({"channel": channel, "external_id": external, "status": status, "error": error})
    identical = 0
    for texts in received.values():
        seen = {}
        for text in texts:
            seen[text] = seen.get(text, 0) + 1
        identical += sum(n - 1 for n in seen.values())
    pending_reviews = sum(n for status, n in reviews if status == "pending")
    return {
        "acknowledged_webhooks": len(load.acknowledged),
        "message_statuses": statuses,
        "failed_recorded": failed_recorded,
        "flagged_failures": flagged_failures,
        "lost": len(lost) + pending_reviews,
        "lost_messages": lost[:20],
        "reviews": dict(reviews),
        "duplicate_deliveries": resent,
        "identical_texts_to_one_chat": identical,
        "web_and_api_messages": dict(web),
    }


def summarise(load):
    summary = {}
    for kind, (ok, failed) in sorted(load.counts.items()):
        latencies = sorted(load.latencies.get(kind, []))
        summary[kind] = {
            "ok": ok, "failed": failed,
            "p50_s": round(statistics.median(latencies), 2) if latencies else None,
            "p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 2) if latencies else None,
        }
    return summary


if __name__ == "__main__":
    main()
