using System.Text;
using StatePersistence.Encryption;
using StatePersistence.Errors;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.Encryption;

/// <summary>The key file: created 0600 by a library call, refused when loose, inside the state directory or malformed; material never shown.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class KeyFileTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Create_WritesOneActiveKey_Mode0600_AndReadGivesItBack()
    {
        string path = _directory.Combine("keys.json");

        EncryptionKeyRing created = EncryptionKeyFile.Create(path);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        EncryptionKey key = Assert.Single(created.Keys);
        Assert.Equal(EncryptionKeyState.Active, key.State);
        Assert.StartsWith("key-", key.Id, StringComparison.Ordinal);
        EncryptionKeyRing read = EncryptionKeyFile.Read(path);
        Assert.Equal(key.Id, read.Active.Id);
        Assert.True(read.Active.Material.SequenceEqual(key.Material));
        Assert.Empty(Directory.GetFiles(_directory.Path, "*.tmp*"));
    }

    [Fact]
    public void Create_OverAnExistingFile_IsRefused_AndTheFileIsUnchanged()
    {
        string path = _directory.Combine("keys.json");
        EncryptionKeyFile.Create(path);
        byte[] before = File.ReadAllBytes(path);

        var error = Assert.Throws<StatePersistenceException>(() => EncryptionKeyFile.Create(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void KeyFile_InsideTheStateDirectory_IsRefused_ByCreateReadAndTheOptions()
    {
        string state = _directory.Combine("state");
        string inside = Path.Combine(state, "sub", "keys.json");
        Directory.CreateDirectory(Path.GetDirectoryName(inside)!);

        var error = Assert.Throws<StatePersistenceException>(() => EncryptionKeyFile.Create(inside, state));
        Assert.Contains("inside the state directory", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(inside));

        EncryptionKeyFile.Create(inside);
        Assert.Throws<StatePersistenceException>(() => EncryptionKeyFile.Read(inside, state));
        var options = new StatePersistenceOptions { StatePath = state };
        options.Encryption.KeyFile = inside;
        Assert.Contains(options.Validate(), p => p.Contains("inside the state directory", StringComparison.Ordinal));
        Assert.Throws<StatePersistenceException>(() => options.ResolvePayloadCodec());
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    public void KeyFile_LooserThan0600_IsRefused_NamingTheFileAndMode(UnixFileMode extra)
    {
        string path = _directory.Combine("keys.json");
        EncryptionKeyFile.Create(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);

        var error = Assert.Throws<StatePersistenceException>(() => EncryptionKeyFile.Read(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedKeyFile_IsRefused_WithoutShowingItsContent()
    {
        string path = _directory.Combine("keys.json");
        EncryptionKeyFile.Create(path);
        string content = File.ReadAllText(path);
        string material = content.Split("\"material\": \"")[1].Split('"')[0];
        File.WriteAllText(path, content.Replace("\"material\": \"", "\"material\": \"!", StringComparison.Ordinal)[..^3]);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var error = Assert.Throws<StatePersistenceException>(() => EncryptionKeyFile.Read(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(material, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(material[..12], error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_NeverShowTheirMaterial_InToStringOrRingErrors()
    {
        EncryptionKey key = EncryptionKey.Generate("k1", EncryptionKeyState.Active, DateTimeOffset.UnixEpoch);
        string base64 = Convert.ToBase64String(key.Material);
        string hex = Convert.ToHexString(key.Material);

        var error = Assert.Throws<ArgumentException>(() => new EncryptionKeyRing([key, key.WithState(EncryptionKeyState.Retired)]));

        foreach (string text in (string[])[key.ToString(), error.ToString()])
        {
            Assert.DoesNotContain(base64, text, StringComparison.Ordinal);
            Assert.DoesNotContain(hex, text, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Contains("'k1'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ring_HoldsAtMostOneActiveKey_NoneMeaningEncryptionOff_AndRotationRetiresThePreviousOne()
    {
        EncryptionKey first = EncryptionKey.Generate("k1", EncryptionKeyState.Active, DateTimeOffset.UnixEpoch);
        EncryptionKey second = EncryptionKey.Generate("k2", EncryptionKeyState.Retired, DateTimeOffset.UnixEpoch);
        Assert.Throws<ArgumentException>(() => new EncryptionKeyRing([]));
        Assert.Throws<ArgumentException>(() => new EncryptionKeyRing([first, second.WithState(EncryptionKeyState.Active)]));
        var off = new EncryptionKeyRing([second]);
        Assert.False(off.HasActiveKey);
        Assert.Throws<InvalidOperationException>(() => off.Active);
        Assert.Equal(second.Id, off.Find("k2")!.Id);

        EncryptionKeyRing rotated = new EncryptionKeyRing([first]).WithActive(second);

        Assert.Equal("k2", rotated.Active.Id);
        Assert.Equal(EncryptionKeyState.Retired, rotated.Find("k1")!.State);
        Assert.Throws<ArgumentException>(() => rotated.WithState("k2", EncryptionKeyState.Revoked));
        Assert.Throws<ArgumentException>(() => rotated.Without("k2"));
        Assert.Null(rotated.Without("k1").Find("k1"));
    }

    [Fact]
    public void EnvironmentVariable_GivesAnActiveKeyAndRetiredOnes_AndBadValuesAreRefusedWithoutTheirContent()
    {
        string k1 = Convert.ToBase64String(new byte[32].Select((_, i) => (byte)i).ToArray());
        string k2 = Convert.ToBase64String(new byte[32].Select((_, i) => (byte)(i * 3)).ToArray());

        EncryptionKeyRing ring = EnvironmentKeyProvider.Parse($"new:{k2}; old:{k1}", "V");

        Assert.Equal("new", ring.Active.Id);
        Assert.Equal(EncryptionKeyState.Retired, ring.Find("old")!.State);
        var shortKey = Assert.Throws<StatePersistenceException>(() => EnvironmentKeyProvider.Parse("k:" + Convert.ToBase64String(Encoding.ASCII.GetBytes("sixteen-bytes-xx")), "V"));
        Assert.Contains("'k'", shortKey.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2l4dGVlbi", shortKey.Message, StringComparison.Ordinal);
        Assert.Throws<StatePersistenceException>(() => EnvironmentKeyProvider.Parse("no-colon", "V"));
        Assert.Throws<StatePersistenceException>(() => EnvironmentKeyProvider.Parse($"a:{k1};a:{k2}", "V"));
    }
}
