using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

[assembly: AssemblyFixture(typeof(StatePersistence.Dashboard.Tests.DashboardFixture))]

namespace StatePersistence.Dashboard.Tests;

/// <summary>
/// One real server (Kestrel on a free loopback port, with an API key) and one headless Chromium for the whole assembly:
/// starting a browser costs about a second, so the tests share it and each opens its own browser context (its own
/// cookies). Chromium is Debian's (<c>/usr/bin/chromium</c>, installed by scripts/test.sh): Playwright's own browser
/// download cannot work here. Its absence fails the tests; it never skips them.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string Key = "dashboard-test-key-0123456789abcdef0123";
    private static readonly string ChromiumPath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";

    private readonly string _statePath = Path.Combine(Path.GetTempPath(), "sp-dashboard-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _server;
    private IPlaywright? _playwright;

    public Uri BaseAddress { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>A client of the API with the key, as an agent would use it.</summary>
    public HttpClient Api { get; private set; } = null!;

    /// <summary>Where screenshots go: <c>artifacts/screenshots/</c> at the repository's root.</summary>
    public static string ScreenshotDirectory { get; } = FindScreenshotDirectory();

    public async ValueTask InitializeAsync()
    {
        _server = Server.StateServer.Build(["--urls", "http://127.0.0.1:0", "--state-path", _statePath,
            "--StatePersistence:Server:ApiKey", Key, "--Logging:LogLevel:Default", "Warning"]);
        await _server.StartAsync();
        string address = _server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(address);
        Api = new HttpClient { BaseAddress = BaseAddress };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);

        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"No Chromium at {ChromiumPath}: run scripts/test.sh (it installs Debian's chromium) or set CHROMIUM_PATH.");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox"], // the tests run as root, where Chromium's sandbox refuses to start
        });
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        Api?.Dispose();
        if (_server is not null)
        {
            await _server.StopAsync();
            await _server.DisposeAsync();
        }

        if (Directory.Exists(_statePath))
        {
            Directory.Delete(_statePath, recursive: true);
        }
    }

    private static string FindScreenshotDirectory()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "StatePersistence.sln")))
            {
                return Path.Combine(directory.FullName, "artifacts", "screenshots");
            }
        }

        return Path.Combine(AppContext.BaseDirectory, "screenshots");
    }
}
