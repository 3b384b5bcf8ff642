using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using StatePersistence.Benchmarks.Workload;

namespace StatePersistence.Benchmarks.Cases.Http;

/// <summary>
/// The real state server as a separate process on a loopback port (its embedded default: a state directory), and
/// one keep-alive HTTP client with as many connections as the case has writers.
/// </summary>
internal sealed class ServerHost : IAsyncDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerHost(Process process, HttpClient client)
    {
        _process = process;
        Client = client;
    }

    /// <summary>The client, its base address the server's.</summary>
    public HttpClient Client { get; }

    /// <summary>Starts the server built beside the benchmark on <paramref name="statePath"/> and waits for <c>/health</c>.</summary>
    public static async Task<ServerHost> StartAsync(string statePath, int connections, CancellationToken cancellationToken)
    {
        int port = FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "StatePersistence.Server.dll"));
        info.Environment.Remove("STATE_API_KEY");
        info.Environment["STATE_PATH"] = statePath;
        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        Process process = Process.Start(info) ?? throw new InvalidOperationException("The state server did not start.");
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10) };
        var host = new ServerHost(process, new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}") });
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await host.WaitUntilReadyAsync(cancellationToken);
        return host;
    }

    /// <summary>
    /// <c>PUT /api/tasks/{id}</c> of one task document (<paramref name="key"/>'s id, <paramref name="document"/>'s
    /// bytes); anything but 200 or 201 fails the case with the server's answer.
    /// </summary>
    public async Task PutTaskAsync(TaskDocuments documents, int key, int document, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(documents.Utf8[document]);
        content.Headers.ContentType = Json;
        using HttpResponseMessage response = await Client.PutAsync(new Uri("/api/tasks/" + documents.Ids[key], UriKind.Relative), content, cancellationToken);
        if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.Created))
        {
            throw new InvalidDataException($"PUT answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    /// <summary>Fails the case unless the server holds the task <paramref name="id"/> (a case's check after its rounds).</summary>
    public async Task RequireTaskAsync(string id, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await Client.GetAsync(new Uri("/api/tasks/" + id, UriKind.Relative), cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidDataException($"GET of the saved task '{id}' answered {(int)response.StatusCode}.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            // SIGTERM: the server drains and writes its final snapshot, as in production.
            _process.Kill(entireProcessTree: false);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The state server exited with code {_process.ExitCode}: {Output}");
            }

            try
            {
                using HttpResponseMessage response = await Client.GetAsync(new Uri("/health", UriKind.Relative), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"The state server did not answer /health within {StartTimeout.TotalSeconds} s: {Output}");
    }

    private string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
