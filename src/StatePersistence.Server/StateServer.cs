using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using StatePersistence.Server.Access;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Dashboard;
using StatePersistence.Server.Events;
using StatePersistence.Server.Health;
using StatePersistence.Server.Http;
using StatePersistence.Server.Metrics;
using StatePersistence.Server.Problems;
using StatePersistence.Server.Quotas;
using StatePersistence.Server.Refusals;
using StatePersistence.Server.Routes;
using StatePersistence.Server.Telemetry;

namespace StatePersistence.Server;

/// <summary>Builds the state server: configuration, services, middleware and routes.</summary>
internal static class StateServer
{
    /// <summary>Command-line switches beyond ASP.NET Core's own (<c>--urls</c>, <c>--Section:Key value</c>).</summary>
    private static readonly Dictionary<string, string> SwitchMappings = CommandLineUsage.SwitchMappings();

    public static WebApplication Build(string[] args)
    {
        // The process's own command line, which is what ps shows (a test host passes its settings as args instead).
        StartupChecks.ThrowIfAny(StartupChecks.KeyOnCommandLine(Environment.GetCommandLineArgs().Skip(1)).ToList());
        // appsettings.json ships beside the binary; the working directory is where the state lives, not the settings.
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddCommandLine(args, SwitchMappings);
        if (string.IsNullOrWhiteSpace(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            // Loopback by default: exposing the state to the network is an explicit choice (--urls plus a key).
            builder.WebHost.UseUrls(StateServerOptions.DefaultUrl);
        }

        List<string> problems = [.. UnknownSwitches.Find(args, SwitchMappings), .. StartupChecks.Settings(builder.Configuration)];
        StoreSettings store = StoreSettings.Read(builder.Configuration, problems);
        StartupChecks.ThrowIfAny(problems);
        AddServices(builder.Services, store);
        builder.Services.AddStateTelemetry(builder.Configuration);
        WebApplication app = builder.Build();
        Configure(app);
        return app;
    }

    private static void AddServices(IServiceCollection services, StoreSettings store)
    {
        services.AddOptions<StateServerOptions>()
            .BindConfiguration(StateServerOptions.Section)
            .PostConfigure<IConfiguration>(static (options, configuration) =>
            {
                if (string.IsNullOrWhiteSpace(options.ApiKey))
                {
                    options.ApiKey = configuration[StateServerOptions.ApiKeyVariable];
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<StateServerOptions>, StateServerOptionsValidator>();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<StateServerOptions>>(static (kestrel, server) =>
        {
            StateServerOptions limits = server.Value;
            // No "Server: Kestrel" on every answer: it tells a client nothing it needs and a scanner what to try.
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodyBytes;
            kestrel.Limits.MaxConcurrentConnections = limits.MaxConcurrentConnections;
            kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
            kestrel.Limits.MinRequestBodyDataRate = limits.MinRequestBodyBytesPerSecond > 0
                ? new MinDataRate(limits.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5))
                : null;
        });
        services.AddHostAccess();
        services.AddTrustedProxies();
        services.AddCors();
        services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>().Configure<IOptions<StateServerOptions>>(static (cors, server) =>
            cors.AddDefaultPolicy(policy => policy.WithOrigins(AllowedOrigins.Of(server.Value)).AllowAnyHeader().AllowAnyMethod()
                .WithExposedHeaders(CorsExposedHeaders.All)));

        // Registered before the persistence service so that an exposed address is refused before recovery starts.
        services.AddHostedService<ExposureGuard>();
        store.Apply(services.AddStatePersistence());
        if (store.Store == StoreSettings.File)
        {
            // A state directory only the file store has. Registered after the persistence service, so that its modes
            // are changed only once this process holds the directory's lock (see StatePermissions).
            services.AddHostedService<StatePermissions>();
        }

        services.AddHealthChecks().AddStatePersistence();
        services.AddHostedService<ShutdownDelay>();
        services.AddOptions<HostOptions>().Configure<IOptions<StateServerOptions>>(static (host, server) =>
            host.ShutdownTimeout += server.Value.ShutdownDelay); // the delay must not eat the drain's own time

        services.AddProblemDetails();
        services.AddExceptionHandler<StateExceptionHandler>();
        services.AddSingleton<RefusalLog>();
        services.AddSingleton<RefusedRequests>();
        services.AddSingleton<AccessRefusals>();
        services.AddSingleton<OwnHostNames>();
        services.AddSingleton<BodyBudget>();
        services.AddSingleton<BodyDeadline>();
        services.AddSingleton<RequestReader>();
        services.AddSingleton<HealthCache>();
        services.AddOptions<QuotaOptions>().BindConfiguration(QuotaOptions.Section)
            .Validate(static q => !q.Validate().Any(), "Invalid quota settings.").ValidateOnStart();
        services.AddSingleton<QuotaGuard>();
        services.AddSingleton<QuotaMetrics>();
        services.AddSingleton<EventStreamMetrics>();
        services.AddSingleton<EventStreamSlots>();
        services.AddSingleton<DashboardCookie>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<EventHub>();
    }

    private static void Configure(WebApplication app)
    {
        // Listen before the first measurement and span (start-up recovery records the load duration and its trace):
        // the providers subscribe when they are built, and the hosted services (recovery among them) start after this.
        app.Services.GetRequiredService<MeterProvider>();
        app.Services.GetService<TracerProvider>();
        app.Services.GetRequiredService<QuotaMetrics>();
        app.Services.GetRequiredService<EventHub>();

        // Before anything reads the scheme or the client address; only when proxies are configured (TrustedProxies).
        if (app.Services.GetRequiredService<IOptions<StateServerOptions>>().Value.TrustedProxies.Length > 0)
        {
            app.UseForwardedHeaders();
        }

        // First, so that every answer has them, the host filter's and the exception handler's included.
        app.UseMiddleware<SecurityHeaders>();
        app.UseExceptionHandler();
        app.UseStatusCodePages(StatusProblems.WriteAsync);

        // Browser-origin protection before anything else reads the request: a rebinding Host (400), then a page of
        // another site (403); CORS only for the origins configured, so its preflights pass before the key check.
        app.UseHostFiltering();
        app.UseMiddleware<BrowserOriginGuard>();
        if (app.Services.GetRequiredService<IOptions<StateServerOptions>>().Value.CorsOrigins.Length > 0)
        {
            app.UseCors();
        }

        app.UseMiddleware<ApiKeyMiddleware>();
        // Right after the key check (it audits only what the key or the cookie let in) and ahead of every refusal of a
        // request's own: behind the query check and the disk floor, an action they refused was never audited.
        app.UseMiddleware<AuditMiddleware>();
        app.UseMiddleware<CookieWriteCheck>();
        app.UseMiddleware<QueryParameterCheck>();
        app.UseMiddleware<DiskFloorMiddleware>();
        app.UseMiddleware<ConflictAnswerMiddleware>();

        app.MapStateHealth();
        app.MapPrometheusMetrics();
        // The JSON and text API answers HEAD wherever it answers GET; the event stream does not (a HEAD of an endless
        // stream would never end).
        RouteGroupBuilder api = app.MapGroup("").AnswerHeadLikeGet().TakeNoQueryByDefault();
        api.MapTaskRoutes();
        api.MapSessionRoutes();
        api.MapReportRoutes();
        api.MapStateRoutes();
        api.MapDashboardApi();
        app.MapEventRoutes();
        app.MapDashboard();
        app.MapLogin();
    }
}
