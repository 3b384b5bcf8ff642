// The scale and long-run load of the state server (README, Performance: "Scale and long runs"). Modes:
//   populate --url U --tasks N --sessions S --reports R --conc C --logmb M --biglogs B   realistic tasks (every 20th with
//            200-400 log entries, every 500th with a 300 KB unknown field), sessions, reports, large session logs
//   load     --url U --seconds T --conc C --acks FILE --prefix P   mixed writes and reads; per 10 s: rate, p50/p99/max,
//            answers by status; at the end every acknowledged task revision, delete and session-log length to FILE
//   verify   --url U --acks FILE      every acknowledged write is there (after a kill -9 and restart)
//   sse      --url U --clients N --seconds T [--last ID]   event-stream clients; slowsse: clients that never read
//   timeget  --url U --path P --n N --conc C   time (and size) of GETs, e.g. /api/state
//   bigput   --url U --pid P --tasks N --bytes B --rounds R --conc C   rounds of PUTs of N tasks of B bytes each, every
//            task replaced each round; after each round the server's resident memory (VmRSS, VmHWM of process P)
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

var a = new Args(args);
string url = a.Get("url", "http://127.0.0.1:5281");
var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
var http = new HttpClient(handler) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(120) };
string mode = args[0];
switch (mode)
{
    case "populate": await Populate(); break;
    case "load": await Load(); break;
    case "verify": await Verify(); break;
    case "sse": await Sse(); break;
    case "slowsse": await SlowSse(); break;
    case "timeget": await TimeGet(); break;
    case "bigput": await BigPut(); break;
    default: Console.WriteLine("unknown mode"); break;
}

static string Rnd(Random r, int n)
{
    const string chars = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    var sb = new StringBuilder(n);
    for (int i = 0; i < n; i++) sb.Append(chars[r.Next(chars.Length)]);
    return sb.ToString();
}

string TaskBody(Random r, string id, int i)
{
    string[] st = ["pending", "in_progress", "completed", "failed", "cancelled"];
    string[] tools = ["CLAUDECODE", "CODEX", "AIDER", "GEMINI"];
    var sb = new StringBuilder();
    sb.Append("{\"id\":\"").Append(id).Append("\",\"description\":\"").Append(Rnd(r, 150 + r.Next(200))).Append("\",\"tool\":\"")
      .Append(tools[i % 4]).Append("\",\"status\":\"").Append(st[i % 5]).Append("\",\"created_at\":\"")
      .Append(DateTime.UtcNow.AddMinutes(-r.Next(100000)).ToString("yyyy-MM-ddTHH:mm:ss.fffZ")).Append("\",");
    sb.Append("\"metadata\":{\"repo\":\"github.com/acme/").Append(Rnd(r, 12)).Append("\",\"branch\":\"feature/").Append(Rnd(r, 20))
      .Append("\",\"labels\":[\"a\",\"b\",\"c\"],\"notes\":\"").Append(Rnd(r, 600)).Append("\"}");
    if (i % 20 == 0)
    {
        sb.Append(",\"logs\":[");
        int n = 200 + r.Next(200);
        for (int k = 0; k < n; k++)
        {
            if (k > 0) sb.Append(',');
            sb.Append("{\"timestamp\":\"2024-01-01T10:00:00Z\",\"level\":\"info\",\"type\":\"system\",\"message\":\"").Append(Rnd(r, 80 + r.Next(100))).Append("\"}");
        }
        sb.Append(']');
    }
    if (i % 500 == 7)
    {
        sb.Append(",\"transcript\":\"").Append(Rnd(r, 300_000)).Append('"');
    }
    sb.Append('}');
    return sb.ToString();
}

async Task Populate()
{
    int tasks = a.Int("tasks", 100000), sessions = a.Int("sessions", 5000), reports = a.Int("reports", 3000), conc = a.Int("conc", 32);
    int logMb = a.Int("logmb", 30), bigLogs = a.Int("biglogs", 4);
    var sw = Stopwatch.StartNew();
    int next = 0, errors = 0;
    var lat = new ConcurrentBag<double>();
    await Task.WhenAll(Enumerable.Range(0, conc).Select(async w =>
    {
        var r = new Random(w);
        int i;
        while ((i = Interlocked.Increment(ref next) - 1) < tasks)
        {
            string id = $"task_{i:D6}";
            var c = new StringContent(TaskBody(r, id, i), Encoding.UTF8, "application/json");
            var t0 = Stopwatch.GetTimestamp();
            using var resp = await http.PutAsync($"/api/tasks/{id}", c);
            lat.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            if (!resp.IsSuccessStatusCode) { if (Interlocked.Increment(ref errors) < 5) Console.WriteLine($"PUT {id} {(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}"); }
            if (i % 10000 == 0) Console.WriteLine($"{i} tasks {sw.Elapsed.TotalSeconds:F1}s");
        }
    }));
    Console.WriteLine($"tasks done {sw.Elapsed.TotalSeconds:F1}s errors {errors} {Pct(lat)}");
    next = 0;
    await Task.WhenAll(Enumerable.Range(0, conc).Select(async w =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next) - 1) < sessions)
        {
            var c = new StringContent($"{{\"id\":\"session_{i:D5}\",\"type\":\"interactive\",\"status\":\"active\",\"task_id\":\"task_{i:D6}\"}}", Encoding.UTF8, "application/json");
            using var resp = await http.PostAsync("/api/sessions", c);
            if (!resp.IsSuccessStatusCode && resp.StatusCode != HttpStatusCode.Conflict) Console.WriteLine($"session {(int)resp.StatusCode}");
        }
    }));
    Console.WriteLine($"sessions done {sw.Elapsed.TotalSeconds:F1}s");
    next = 0;
    await Task.WhenAll(Enumerable.Range(0, conc).Select(async w =>
    {
        var r = new Random(1000 + w);
        int i;
        while ((i = Interlocked.Increment(ref next) - 1) < reports)
        {
            var c = new StringContent($"{{\"id\":\"report_{i:D5}\",\"type\":\"summary\",\"data\":{{\"task_id\":\"task_{i:D6}\",\"text\":\"{Rnd(r, 2000)}\"}}}}", Encoding.UTF8, "application/json");
            using var resp = await http.PostAsync("/api/reports", c);
            if (!resp.IsSuccessStatusCode) Console.WriteLine($"report {(int)resp.StatusCode}");
        }
    }));
    Console.WriteLine($"reports done {sw.Elapsed.TotalSeconds:F1}s");
    // big session logs: append 256 KiB chunks
    await Task.WhenAll(Enumerable.Range(0, bigLogs).Select(async s =>
    {
        var r = new Random(2000 + s);
        string chunk = Rnd(r, 256 * 1024 - 1) + "\n";
        for (int k = 0; k < logMb * 4; k++)
        {
            using var resp = await http.PostAsync($"/api/sessions/session_{s:D5}/log", new StringContent(chunk, Encoding.UTF8, "text/plain"));
            if (!resp.IsSuccessStatusCode) { Console.WriteLine($"log {(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync()}"); break; }
        }
    }));
    // small logs on many sessions
    next = 0;
    await Task.WhenAll(Enumerable.Range(0, conc).Select(async w =>
    {
        var r = new Random(3000 + w);
        int i;
        while ((i = Interlocked.Increment(ref next) - 1) < sessions)
        {
            using var resp = await http.PostAsync($"/api/sessions/session_{i:D5}/log", new StringContent(Rnd(r, 2000) + "\n", Encoding.UTF8, "text/plain"));
        }
    }));
    Console.WriteLine($"logs done {sw.Elapsed.TotalSeconds:F1}s");
}

static string Pct(IEnumerable<double> lat)
{
    var l = lat.OrderBy(x => x).ToArray();
    if (l.Length == 0) return "n=0";
    return $"n={l.Length} p50={l[l.Length / 2]:F2}ms p99={l[(int)(l.Length * 0.99)]:F2}ms p999={l[(int)(l.Length * 0.999)]:F2}ms max={l[^1]:F1}ms";
}

async Task Load()
{
    int seconds = a.Int("seconds", 60), conc = a.Int("conc", 32), tasks = a.Int("tasks", 100000), sessions = a.Int("sessions", 5000);
    string acks = a.Get("acks", "/tmp/scale-acks.txt");
    string prefix = a.Get("prefix", "new");
    var taskRev = new ConcurrentDictionary<string, long>();
    var deleted = new ConcurrentDictionary<string, bool>();
    var logLen = new ConcurrentDictionary<string, long>();
    var created = new ConcurrentDictionary<string, bool>();
    var attemptedDelete = new ConcurrentDictionary<string, bool>();
    var end = DateTime.UtcNow.AddSeconds(seconds);
    var window = new ConcurrentQueue<double>();
    var statuses = new ConcurrentDictionary<string, int>();
    long total = 0;
    var sw = Stopwatch.StartNew();
    var reporter = Task.Run(async () =>
    {
        while (DateTime.UtcNow < end)
        {
            await Task.Delay(10000);
            var l = new List<double>();
            while (window.TryDequeue(out var x)) l.Add(x);
            Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] t={sw.Elapsed.TotalSeconds:F0}s ops/s={l.Count / 10.0:F0} {Pct(l)} status={string.Join(",", statuses.Select(kv => kv.Key + ":" + kv.Value))}");
            statuses.Clear();
        }
    });
    void Ack(string kind, string id, HttpResponseMessage resp)
    {
        if (resp.Headers.ETag is { } et && long.TryParse(et.Tag.Trim('"'), out long rev))
            taskRev.AddOrUpdate(id, rev, (_, old) => Math.Max(old, rev));
    }
    await Task.WhenAll(Enumerable.Range(0, conc).Select(async w =>
    {
        var r = new Random(10000 + w + Environment.TickCount);
        string mySession = $"session_{w:D5}";
        int seq = 0;
        long myLog = -1;
        while (DateTime.UtcNow < end)
        {
            int op = r.Next(100);
            var t0 = Stopwatch.GetTimestamp();
            string kind = "";
            try
            {
                HttpResponseMessage resp;
                if (op < 35)
                {
                    kind = "patch";
                    string id = $"task_{r.Next(tasks):D6}";
                    string[] st = ["pending", "in_progress", "completed", "failed"];
                    resp = await http.PatchAsync($"/api/tasks/{id}", new StringContent($"{{\"status\":\"{st[r.Next(4)]}\"}}", Encoding.UTF8, "application/json"));
                    if (resp.IsSuccessStatusCode) Ack("T", id, resp);
                }
                else if (op < 60)
                {
                    kind = "log";
                    string id = $"task_{r.Next(tasks):D6}";
                    resp = await http.PostAsync($"/api/tasks/{id}/logs", new StringContent($"{{\"level\":\"info\",\"type\":\"system\",\"message\":\"{Rnd(r, 100)}\"}}", Encoding.UTF8, "application/json"));
                    if (resp.IsSuccessStatusCode) Ack("T", id, resp);
                }
                else if (op < 75)
                {
                    kind = "put";
                    string id = $"{prefix}_{w}_{seq++}";
                    resp = await http.PutAsync($"/api/tasks/{id}", new StringContent(TaskBody(r, id, r.Next(1000) * 5 + 1), Encoding.UTF8, "application/json"));
                    if (resp.IsSuccessStatusCode) { Ack("T", id, resp); created[id] = true; }
                }
                else if (op < 80 && seq > 2)
                {
                    kind = "delete";
                    string id = $"{prefix}_{w}_{r.Next(seq - 1)}";
                    if (deleted.ContainsKey(id) || !created.ContainsKey(id)) continue;
                    attemptedDelete[id] = true;
                    resp = await http.DeleteAsync($"/api/tasks/{id}");
                    if (resp.StatusCode == HttpStatusCode.NoContent) deleted[id] = true;
                }
                else if (op < 90)
                {
                    kind = "slog";
                    if (myLog < 0)
                    {
                        using var g = await http.GetAsync($"/api/sessions/{mySession}/log", HttpCompletionOption.ResponseHeadersRead);
                        myLog = g.Content.Headers.ContentLength ?? 0;
                        t0 = Stopwatch.GetTimestamp();
                    }
                    string text = $"{w}:{myLog}:" + Rnd(r, 200) + "\n";
                    resp = await http.PostAsync($"/api/sessions/{mySession}/log", new StringContent(text, Encoding.UTF8, "text/plain"));
                    if (resp.IsSuccessStatusCode) { myLog += Encoding.UTF8.GetByteCount(text); logLen[mySession] = myLog; }
                    else myLog = -1; // unknown whether stored
                }
                else if (op < 95)
                {
                    kind = "get";
                    resp = await http.GetAsync($"/api/tasks/task_{r.Next(tasks):D6}");
                }
                else
                {
                    kind = "list";
                    resp = await http.GetAsync($"/api/tasks?limit=100&status=failed&sort=-updatedAt");
                }
                window.Enqueue(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                statuses.AddOrUpdate(kind + ((int)resp.StatusCode).ToString(), 1, (_, v) => v + 1);
                resp.Dispose();
                Interlocked.Increment(ref total);
            }
            catch (Exception e)
            {
                statuses.AddOrUpdate(kind + "-" + e.GetType().Name, 1, (_, v) => v + 1);
                if (kind == "slog") myLog = -1;
                await Task.Delay(200);
            }
        }
    }));
    await reporter;
    using var f = new StreamWriter(acks, append: true);
    foreach (var kv in taskRev) if (!deleted.ContainsKey(kv.Key)) f.WriteLine($"T {kv.Key} {kv.Value}");
    foreach (var kv in deleted) f.WriteLine($"D {kv.Key}");
    foreach (var kv in attemptedDelete) if (!deleted.ContainsKey(kv.Key)) f.WriteLine($"X {kv.Key}");
    foreach (var kv in logLen) f.WriteLine($"L {kv.Key} {kv.Value}");
    Console.WriteLine($"total ops {total} in {sw.Elapsed.TotalSeconds:F0}s; acks tasks={taskRev.Count} deleted={deleted.Count} logs={logLen.Count}");
}

async Task Verify()
{
    string acks = a.Get("acks", "/tmp/scale-acks.txt");
    var taskRev = new Dictionary<string, long>();
    var deleted = new HashSet<string>();
    var logLen = new Dictionary<string, long>();
    var unknown = new HashSet<string>();
    foreach (var line in File.ReadLines(acks))
    {
        var p = line.Split(' ');
        if (p[0] == "T") taskRev[p[1]] = Math.Max(taskRev.GetValueOrDefault(p[1]), long.Parse(p[2]));
        else if (p[0] == "D") deleted.Add(p[1]);
        else if (p[0] == "L") logLen[p[1]] = Math.Max(logLen.GetValueOrDefault(p[1]), long.Parse(p[2]));
        else if (p[0] == "X") unknown.Add(p[1]);
    }
    foreach (var d in deleted) taskRev.Remove(d);
    int bad = 0, ok = 0;
    var items = taskRev.ToArray();
    int next = 0;
    await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next) - 1) < items.Length)
        {
            var (id, rev) = items[i];
            using var resp = await http.GetAsync($"/api/tasks/{id}");
            long got = resp.Headers.ETag is { } et ? long.Parse(et.Tag.Trim('"')) : -1;
            if (resp.StatusCode == HttpStatusCode.NotFound && unknown.Contains(id)) { Interlocked.Increment(ref ok); continue; }
            if (!resp.IsSuccessStatusCode || got < rev) { if (Interlocked.Increment(ref bad) < 20) Console.WriteLine($"LOST task {id}: acked rev {rev}, now {(int)resp.StatusCode} rev {got}"); }
            else Interlocked.Increment(ref ok);
        }
    }));
    foreach (var d in deleted)
    {
        using var resp = await http.GetAsync($"/api/tasks/{d}");
        if (resp.StatusCode != HttpStatusCode.NotFound) { bad++; Console.WriteLine($"RESURRECTED {d}"); }
    }
    foreach (var (sid, len) in logLen)
    {
        using var resp = await http.GetAsync($"/api/sessions/{sid}/log", HttpCompletionOption.ResponseHeadersRead);
        long have = resp.Content.Headers.ContentLength ?? -1;
        if (have < len) { bad++; Console.WriteLine($"LOST log {sid}: acked {len}, have {have}"); }
    }
    Console.WriteLine($"verify: tasks ok {ok}, deleted {deleted.Count}, logs {logLen.Count}, problems {bad}");
}

async Task Sse()
{
    int clients = a.Int("clients", 200), seconds = a.Int("seconds", 60);
    string? last = a.Get("last", "");
    long events = 0, resets = 0, heartbeats = 0, closed = 0;
    var end = DateTime.UtcNow.AddSeconds(seconds);
    var sseHttp = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 10000 }) { BaseAddress = new Uri(url), Timeout = Timeout.InfiniteTimeSpan };
    var first = new ConcurrentBag<double>();
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
    {
        try
        {
            using var cts = new CancellationTokenSource(end - DateTime.UtcNow);
            var req = new HttpRequestMessage(HttpMethod.Get, "/api/events");
            if (!string.IsNullOrEmpty(last)) req.Headers.Add("Last-Event-ID", last);
            var t0 = Stopwatch.GetTimestamp();
            using var resp = await sseHttp.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            using var s = await resp.Content.ReadAsStreamAsync(cts.Token);
            using var rd = new StreamReader(s);
            bool firstEvent = true;
            while (await rd.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("event: "))
                {
                    if (firstEvent) { first.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds); firstEvent = false; }
                    Interlocked.Increment(ref events);
                    if (line == "event: reset") Interlocked.Increment(ref resets);
                }
                else if (line.StartsWith(": heartbeat")) Interlocked.Increment(ref heartbeats);
            }
            Interlocked.Increment(ref closed);
        }
        catch (OperationCanceledException) { }
        catch (Exception e) { Console.WriteLine($"client {c}: {e.GetType().Name} {e.Message}"); }
    }));
    Console.WriteLine($"sse clients={clients} events={events} resets={resets} heartbeats={heartbeats} closedByServer={closed} firstEvent {Pct(first)}");
}

async Task SlowSse()
{
    // Connections that send the request and never read.
    int clients = a.Int("clients", 20), seconds = a.Int("seconds", 60);
    var socks = new List<Socket>();
    var uri = new Uri(url);
    for (int i = 0; i < clients; i++)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await s.ConnectAsync(uri.Host, uri.Port);
        await s.SendAsync(Encoding.ASCII.GetBytes($"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"));
        socks.Add(s);
    }
    Console.WriteLine($"{clients} slow clients connected, sleeping {seconds}s");
    await Task.Delay(seconds * 1000);
    int alive = 0;
    foreach (var s in socks)
    {
        // drain what is buffered and see if the server closed
        var buf = new byte[1 << 20];
        s.ReceiveTimeout = 2000;
        long total = 0;
        bool closed = false;
        try { while (s.Available > 0 || total == 0) { int n = s.Receive(buf); if (n == 0) { closed = true; break; } total += n; if (s.Available == 0) { Thread.Sleep(50); if (s.Available == 0) break; } } }
        catch (SocketException) { }
        if (!closed) alive++;
        s.Dispose();
    }
    Console.WriteLine($"slow clients still open: {alive}/{clients}");
}

async Task TimeGet()
{
    string path = a.Get("path", "/api/state");
    int n = a.Int("n", 1), conc = a.Int("conc", 1);
    var lat = new ConcurrentBag<double>();
    long bytes = 0;
    await Task.WhenAll(Enumerable.Range(0, conc).Select(async _ =>
    {
        for (int i = 0; i < n; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            using var resp = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
            using var s = await resp.Content.ReadAsStreamAsync();
            var buf = new byte[1 << 16];
            int k; long b = 0;
            while ((k = await s.ReadAsync(buf)) > 0) b += k;
            Interlocked.Exchange(ref bytes, b);
            lat.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            if (i == 0 && (int)resp.StatusCode >= 400) Console.WriteLine($"status {(int)resp.StatusCode}");
        }
    }));
    Console.WriteLine($"GET {path}: {bytes} bytes {Pct(lat)}");
}

// Whether the server's memory keeps growing under large writes or settles: the same N tasks replaced every round, so
// the state it must hold stays N x B; what grows beyond that is the GC's choice (or a leak), round by round.
async Task BigPut()
{
    int pid = a.Int("pid", 0), tasks = a.Int("tasks", 200), size = a.Int("bytes", 900_000), rounds = a.Int("rounds", 25), conc = a.Int("conc", 8);
    var clock = Stopwatch.StartNew();
    for (int round = 0; round < rounds; round++)
    {
        string pad = new((char)('a' + round % 26), size);
        int failed = 0;
        await Task.WhenAll(Enumerable.Range(0, conc).Select(async worker =>
        {
            for (int i = worker; i < tasks; i += conc)
            {
                string body = $"{{\"id\":\"big{i}\",\"status\":\"pending\",\"description\":\"{pad}\"}}";
                using var resp = await http.PutAsync($"/api/tasks/big{i}", new StringContent(body, Encoding.UTF8, "application/json"));
                if (!resp.IsSuccessStatusCode) Interlocked.Increment(ref failed);
            }
        }));
        string memory = pid > 0 ? string.Join(" ", File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("VmRSS") || l.StartsWith("VmHWM")).Select(l => string.Join(' ', l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)))) : "";
        Console.WriteLine($"round {round}: {clock.Elapsed.TotalSeconds:F1} s, failed {failed}, {memory}");
    }
}

class Args(string[] args)
{
    public string Get(string k, string d) { int i = Array.IndexOf(args, "--" + k); return i >= 0 && i + 1 < args.Length ? args[i + 1] : d; }
    public int Int(string k, int d) => int.Parse(Get(k, d.ToString()));
}
