using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Conformance;

/// <summary>
/// A store's side of the conformance suite: everything a store must supply, in one small class. A new store passes
/// the suite with a harness and one line per conformance class, for example
/// <c>public sealed class MyStoreCommitTests : CommitConformanceTests&lt;MyStoreHarness&gt;;</c>. One harness is made
/// per test, so each test has a location of its own.
/// </summary>
public abstract class StoreHarness : IDisposable
{
    /// <summary>A new, unopened store over this harness's location; a second call opens the same data again (a restart).</summary>
    public abstract IStateStore CreateStore(IPayloadCodec codec);

    /// <summary>
    /// The codec the suite's tests open the store with when they name none: the identity codec, or for a harness that
    /// runs the whole suite encrypted, an encrypting one (the same instance for every open of one test, so its keys
    /// carry over a restart).
    /// </summary>
    public virtual IPayloadCodec DefaultCodec => IdentityCodec.Instance;

    /// <summary>Every stored byte array or file, as the backend holds it.</summary>
    public abstract IEnumerable<byte[]> StoredBytes();

    /// <summary>Stores data in a format version newer than this build reads, the way a newer writer would.</summary>
    public abstract void PlantUnknownFormatVersion();

    /// <summary>
    /// Why this store still stores some content outside the payload codec, or null when everything goes through it.
    /// A store with such a gap skips the plain-text test with this reason.
    /// </summary>
    public virtual string? PlainTextGap => null;

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Removes what the harness created.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
