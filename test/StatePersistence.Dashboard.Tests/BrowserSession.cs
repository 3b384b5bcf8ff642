using Microsoft.Playwright;

namespace StatePersistence.Dashboard.Tests;

/// <summary>
/// One browser context (its own cookies) and page, collecting every console error and uncaught exception, so a test
/// can assert the pages it visited raised none.
/// </summary>
public sealed class BrowserSession : IAsyncDisposable
{
    private readonly List<string> _errors = [];

    private BrowserSession(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_errors)
                {
                    _errors.Add("console: " + message.Text);
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_errors)
            {
                _errors.Add("page error: " + error);
            }
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    public static async Task<BrowserSession> OpenAsync(DashboardFixture fixture, int width = 1280, int height = 800, ColorScheme scheme = ColorScheme.Light)
    {
        IBrowserContext context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            ColorScheme = scheme,
        });
        context.SetDefaultTimeout(15_000);

        // Expect's own bound is not the context's: it stays at Playwright's 5 s unless set, short for a page load or a
        // live update in a headless Chromium on a loaded 2-core machine. The same 15 s as every other wait here.
        Assertions.SetDefaultExpectTimeout(15_000);
        return new BrowserSession(context, await context.NewPageAsync());
    }

    /// <summary>Logs in through the form, as an operator would.</summary>
    public async Task LoginAsync(string key = DashboardFixture.Key)
    {
        await Page.GotoAsync("/login");
        await Page.FillAsync("#key", key);
        await Page.ClickAsync("button[type=submit]");
    }

    public Task ScreenshotAsync(string name) =>
        Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotDirectory, name + ".png"), FullPage = true });

    public async ValueTask DisposeAsync() => await Context.DisposeAsync();
}
