using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace StatePersistence.Server.Tests.Support;

/// <summary>
/// The real server as a separate process (<c>dotnet StatePersistence.Server.dll ...</c>), to be killed with SIGKILL
/// or stopped with SIGTERM as an operator or a crash would. Its output is kept for failure messages.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    /// <summary>The server built next to the tests (a project reference copies it, its runtimeconfig and deps).</summary>
    public static string ServerDll => Path.Combine(AppContext.BaseDirectory, "StatePersistence.Server.dll");

    public int Port { get; }

    public HttpClient Client { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the server without waiting for it; the environment is cleaned of settings that would leak in.</summary>
    public static ServerProcess Launch(int port, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(ServerDll);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (string name in new[] { "STATE_PATH", "STATE_API_KEY", "ASPNETCORE_URLS", "DOTNET_URLS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", "STATEPERSISTENCE_CONNECTION_STRING", "STATE_ENCRYPTION_KEY_FILE", "STATE_ENCRYPTION_KEY" })
        {
            info.Environment.Remove(name);
        }

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        Process process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
        var server = new ServerProcess(process, port);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Starts the server on <paramref name="port"/> and waits until <c>/health</c> answers 200.</summary>
    public static async Task<ServerProcess> StartAsync(int port, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        ServerProcess server = Launch(port, ["--urls", $"http://127.0.0.1:{port}", .. arguments], environment);
        DateTime deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (server._process.HasExited)
            {
                throw new InvalidOperationException($"The server exited with code {server._process.ExitCode} before it was ready:\n{server.Output}");
            }

            try
            {
                using HttpResponseMessage health = await server.Client.GetAsync("/health", TestContext.Current.CancellationToken);
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                await server.DisposeAsync();
                throw new TimeoutException($"The server was not ready within {StartTimeout}:\n{server.Output}");
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    // Where this process's ports start: below the kernel's ephemeral range (32768-60999 on Linux), in a stretch of
    // 1,000 chosen by process id, so test processes running side by side seldom try the same ports.
    private static readonly int FirstPort = 20_000 + Environment.ProcessId % 12 * 1_000;
    private static readonly string PortClaims = Path.Combine(Path.GetTempPath(), "statepersistence-test-ports");
    private static readonly List<FileStream> Claimed = [];
    private static int _portsTried;

    /// <summary>
    /// A loopback port free now, for a server to take, and this process's alone. Not one the OS picks (port 0): those
    /// come from the ephemeral range, from which any outgoing connection (an HttpClient's, Npgsql's) may be given the
    /// port between this check and the server's bind. Below that range no connection is given a port; a claim file
    /// held open without sharing (a lock the OS drops when this process ends) keeps other test processes off it, and
    /// this process never hands it out again, so a client still polling an earlier server never reaches a later one.
    /// </summary>
    public static int FreePort()
    {
        Directory.CreateDirectory(PortClaims);
        for (int attempt = 0; attempt < 1_000; attempt++)
        {
            int port = FirstPort + Interlocked.Increment(ref _portsTried) % 1_000;
            FileStream claim;
            try
            {
                claim = new FileStream(Path.Combine(PortClaims, port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                continue; // Another test process holds it.
            }

            lock (Claimed)
            {
                if (Claimed.Any(c => c.Name == claim.Name))
                {
                    claim.Dispose();
                    continue; // Handed out before, by this process.
                }

                Claimed.Add(claim);
            }

            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use by something else on the machine: the next one (the claim stays, so it is not tried again).
            }
        }

        throw new InvalidOperationException($"No free loopback port from {FirstPort} to {FirstPort + 999}.");
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>SIGTERM, as a service manager stops it; returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        using (Process kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Equal(0, kill.ExitCode);
        }

        return await WaitForExitAsync();
    }

    /// <summary>Waits (bounded) for the process to end; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        Client.Dispose();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
