using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace StatePersistence.Server.Tests.Support;

/// <summary>
/// Hosts the real server in process on its own temp state directory, with a fake clock (so stamps are exact) and a
/// log capture. Settings are configuration keys, as an operator would set them.
/// </summary>
public sealed class StateServerFactory : WebApplicationFactory<Program>
{
    public static readonly DateTimeOffset Start = new(2024, 1, 1, 10, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _directory = new();
    private readonly Dictionary<string, string?> _settings = new(StringComparer.Ordinal);

    public StateServerFactory(params (string Key, string? Value)[] settings)
    {
        foreach ((string key, string? value) in settings)
        {
            _settings[key] = value;
        }
    }

    public FakeTimeProvider Time { get; } = new(Start);

    public LogCapture Logs { get; } = new();

    public string StatePath => _directory.Combine("state");

    public string File(params string[] parts) => Path.Combine([StatePath, .. parts]);

    /// <summary>The settings given to this server, as configuration (for checks that run before the host exists).</summary>
    public IConfiguration Configuration() => new ConfigurationBuilder().AddInMemoryCollection(_settings).Build();

    /// <summary>The persistence service inside the server.</summary>
    public StatePersistenceService Persistence => Services.GetRequiredService<StatePersistenceService>();

    /// <summary>A client that sends <paramref name="apiKey"/> as a bearer token when given.</summary>
    public HttpClient Client(string? apiKey = null)
    {
        HttpClient client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        }

        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("StatePersistence:StatePath", StatePath);
        foreach ((string key, string? value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.ClearProviders().AddProvider(Logs));
        builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Time));
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }
}
