using System.Security.Cryptography;

namespace StatePersistence.FileStore.Migrations;

/// <summary>A session log's text as a migration checks it: its length and SHA-256 (equal digests, equal text).</summary>
internal sealed record LogDigest(long Length, string Sha256)
{
    /// <summary>Hashes text handed over a piece at a time, in order.</summary>
    public sealed class Builder : IDisposable
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _length;

        public void Append(ReadOnlySpan<byte> text)
        {
            _hash.AppendData(text);
            _length += text.Length;
        }

        public LogDigest Build() => new(_length, Convert.ToHexString(_hash.GetHashAndReset()));

        public void Dispose() => _hash.Dispose();
    }
}
