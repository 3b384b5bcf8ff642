namespace StatePersistence.Server.Http;

/// <summary>
/// Ids for resources created without one: a UUIDv7 from the injected clock, so generated ids sort by creation time
/// and are valid state ids (letters, digits and '_').
/// </summary>
internal static class NewIds
{
    public static string Create(string prefix, TimeProvider time) =>
        prefix + Guid.CreateVersion7(time.GetUtcNow()).ToString("N");
}
