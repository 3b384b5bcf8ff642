using System.Security.Cryptography;
using StatePersistence.Encryption;
using StatePersistence.Errors;

namespace StatePersistence.Tests.Encryption;

/// <summary>
/// <c>STATE_ENCRYPTION_KEY</c> with an entry written the other way round, <c>&lt;base64 key&gt;:&lt;id&gt;</c>: the
/// key passed as the id, and the refusal of the id part (not base64, or not 32 bytes) quoted it, printing the key into
/// the start's error and the logs. Now the entry is named by its position and the swap is said.
/// </summary>
public sealed class EnvironmentKeySwappedEntryTests
{
    private static readonly string Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(EncryptionKey.MaterialSize));

    [Theory]
    [InlineData("key1")] // valid base64 of 3 bytes
    [InlineData("mykey-1")] // not base64
    public void ASwappedEntry_IsRefusedAsSwapped_WithoutQuotingTheKey(string id)
    {
        var refused = Assert.Throws<StatePersistenceException>(() => EnvironmentKeyProvider.Parse($"{Key}:{id}", "STATE_ENCRYPTION_KEY"));

        Assert.DoesNotContain(Key, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Key[..16], refused.Message, StringComparison.Ordinal);
        Assert.Contains("entry 1 looks swapped", refused.Message, StringComparison.Ordinal);
        Assert.Contains("<key id>:<base64 key>", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASwappedRetiredEntry_IsNamedByItsPosition()
    {
        string other = Convert.ToBase64String(RandomNumberGenerator.GetBytes(EncryptionKey.MaterialSize));

        var refused = Assert.Throws<StatePersistenceException>(() => EnvironmentKeyProvider.Parse($"new:{Key};{other}:old", "V"));

        Assert.DoesNotContain(other, refused.Message, StringComparison.Ordinal);
        Assert.Contains("entry 2 looks swapped", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnIdThatMayBePartOfAKey_IsNotQuoted_WhenItsKeyPartIsRefused()
    {
        // A key cut short and swapped: not a whole key, but too much of one to print.
        string partOfAKey = Key[..24];

        var refused = Assert.Throws<StatePersistenceException>(() => EnvironmentKeyProvider.Parse($"{partOfAKey}:mykey-1", "V"));

        Assert.DoesNotContain(partOfAKey, refused.Message, StringComparison.Ordinal);
        Assert.Contains("entry 1", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnOrdinaryIdWithABadKeyPart_IsStillNamed()
    {
        var refused = Assert.Throws<StatePersistenceException>(() => EnvironmentKeyProvider.Parse("key-20261207-0a1b2c3d:not*base64", "V"));

        Assert.Contains("entry 1 (key 'key-20261207-0a1b2c3d')", refused.Message, StringComparison.Ordinal);
        Assert.Contains("not valid base64", refused.Message, StringComparison.Ordinal);
    }
}
