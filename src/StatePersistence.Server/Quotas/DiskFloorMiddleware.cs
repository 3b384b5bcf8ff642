namespace StatePersistence.Server.Quotas;

/// <summary>
/// Refuses every write (<c>POST</c>, <c>PUT</c>, <c>PATCH</c>) with 507 while the state volume's free space is below
/// <see cref="QuotaOptions.MinFreeDiskBytes"/>, before its body is read; reads and <c>DELETE</c> still work (a delete
/// frees space only once a snapshot folds it in, and that snapshot first writes a new <c>state.json</c>). Only under <c>/api</c>: logging in to or out of the dashboard writes nothing to the state.
/// </summary>
internal sealed class DiskFloorMiddleware(RequestDelegate next, QuotaGuard quotas)
{
    public Task InvokeAsync(HttpContext context)
    {
        string method = context.Request.Method;
        if ((HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method))
            && context.Request.Path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
        {
            quotas.CheckDisk();
        }

        return next(context);
    }
}
