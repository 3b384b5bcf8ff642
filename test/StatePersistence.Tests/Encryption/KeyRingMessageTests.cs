using System.Text.Json;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>A key ring's problems read as the operator's words: no " (Parameter 'keys')" from the constructor inside.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyRingMessageTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void AKeyFileWithTwoActiveKeys_OrOneIdTwice_IsRefused_WithoutTheParameterName()
    {
        string file = _directory.Combine("keys.json");
        EncryptionKeyFile.Create(file);
        string[] keys = [.. JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("keys").EnumerateArray().Select(k => k.GetRawText())];
        string twoActive = _directory.Combine("two-active.json");
        string sameIdTwice = _directory.Combine("same-id.json");
        WriteRing(twoActive, keys[0], keys[0].Replace("\"id\": \"key-", "\"id\": \"key-2-", StringComparison.Ordinal));
        WriteRing(sameIdTwice, keys[0], keys[0].Replace("\"active\"", "\"retired\"", StringComparison.Ordinal));

        var active = Assert.Throws<StatePersistenceException>(() => EncryptionKeyFile.Read(twoActive));
        var twice = Assert.Throws<StatePersistenceException>(() => EncryptionKeyFile.Read(sameIdTwice));

        Assert.Contains("at most one active key", active.Message, StringComparison.Ordinal);
        Assert.Contains("twice", twice.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", active.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", twice.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("..", active.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("..", twice.Message, StringComparison.Ordinal);
    }

    /// <summary>A version that is no number: the read threw InvalidOperationException, and the server aborted with a stack trace (exit 134).</summary>
    [Theory]
    [InlineData("\"1\"")]
    [InlineData("1.5")]
    [InlineData("null")]
    [InlineData("[1]")]
    public void AKeyFileWhoseVersionIsNoWholeNumber_IsRefused_NamingTheVersion(string version)
    {
        string file = _directory.Combine("keys.json");
        EncryptionKeyFile.Create(file);
        string text = File.ReadAllText(file);
        File.WriteAllText(file, System.Text.RegularExpressions.Regex.Replace(text, "\"version\":\\s*1", $"\"version\": {version}"));
        Assert.NotEqual(text, File.ReadAllText(file));

        var error = Assert.Throws<StatePersistenceException>(() => EncryptionKeyFile.Read(file));

        Assert.Equal($"The key file '{file}' is not a valid key file: its version is not 1 (a newer build may have written it). Nothing was changed.", error.Message);
    }

    [Fact]
    public void TheKeyVariable_WithOneIdTwice_IsRefused_WithoutTheParameterName()
    {
        string variable = "STATE_ENCRYPTION_KEY_TEST_" + Guid.NewGuid().ToString("N");
        string material = Convert.ToBase64String(new byte[EncryptionKey.MaterialSize]);
        Environment.SetEnvironmentVariable(variable, $"key-a:{material};key-a:{material}");
        try
        {
            var error = Assert.Throws<StatePersistenceException>(() => new EnvironmentKeyProvider(variable));

            Assert.Contains("'key-a' twice", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("(Parameter", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    private static void WriteRing(string path, params string[] keys)
    {
        File.WriteAllText(path, $$"""{"format":"statepersistence-keys","version":1,"keys":[{{string.Join(",", keys)}}]}""");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
