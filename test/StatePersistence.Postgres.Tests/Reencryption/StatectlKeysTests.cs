using System.Text.Json;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Encryption;
using StatePersistence.Model;
using StatePersistence.Postgres.Tests.Support;
using static StatePersistence.Postgres.Tests.Reencryption.EncryptedSchema;

namespace StatePersistence.Postgres.Tests.Reencryption;

/// <summary>
/// <c>statectl keys list</c> and <c>keys retire --remove</c> with <c>--store postgres</c>, the real tool against the
/// real database: the rows each key still seals, by table, as the store counts them; a removal refused while any row
/// is sealed with the key (the key file left byte for byte) and done once the re-encryption has rewritten them. Before,
/// statectl measured state directories only, and on a PostgreSQL deployment removing an old key was the operator's own
/// judgement, with nothing to refuse it while rows still needed it.
/// </summary>
public sealed class StatectlKeysTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The connection string as an operator would give it: in the variable, not on the command line.</summary>
    private static Dictionary<string, string> Environment => new() { ["STATEPERSISTENCE_CONNECTION_STRING"] = PostgresServer.ConnectionString };

    [Fact]
    public async Task List_CountsTheRowsUnderEachKey_AndRemove_IsRefusedUntilTheReencryptionRewroteThem()
    {
        await using EncryptedSchema schema = await CreateAsync();
        string oldKey = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        (StatePersistenceService writer, _) = await schema.OpenAsync(encrypted: true);
        long changes;
        await using (writer)
        {
            await PopulateAsync(writer);
            changes = await schema.ScalarAsync("SELECT count(*) FROM {0}.changes");
        }

        string newKey = EncryptionKeyOperations.Rotate(schema.KeyFile).Id;
        byte[] keyFile = await File.ReadAllBytesAsync(schema.KeyFile, Ct);

        StatectlRun list = await KeysAsync(schema, "list", "--json");
        StatectlRun refused = await KeysAsync(schema, "retire", oldKey, "--remove");

        Assert.True(list.ExitCode == 0, list.ToString());
        JsonElement report = list.Json();
        Assert.Equal($"#{schema.Name}", report.GetProperty("database").GetString()![^(schema.Name.Length + 1)..]);
        JsonElement old = report.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == oldKey);
        Assert.Equal("retired", old.GetProperty("state").GetString());
        Assert.Equal(Items + 2, old.GetProperty("items").GetInt64());
        Assert.Equal(Items, old.GetProperty("sessionLogRows").GetInt64());
        Assert.Equal(Items, old.GetProperty("reports").GetInt64());
        Assert.Equal(changes, old.GetProperty("changes").GetInt64());
        Assert.Equal(0, report.GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == newKey).GetProperty("total").GetInt64());
        Assert.Equal(0, report.GetProperty("clear").GetProperty("total").GetInt64());
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains($"The key '{oldKey}' still seals {(3 * Items) + 2 + changes} row(s) of the PostgreSQL store", refused.Error, StringComparison.Ordinal);
        Assert.Contains("was not removed", refused.Error, StringComparison.Ordinal);
        Assert.Equal(keyFile, await File.ReadAllBytesAsync(schema.KeyFile, Ct));
        Assert.DoesNotContain(PostgresServer.ConnectionString, list.ToString() + refused, StringComparison.Ordinal);

        // The re-encryption rewrites every row under the new key; then nothing needs the old one.
        (StatePersistenceService reencrypting, PostgresStateStore reencrypted) = await schema.OpenAsync(encrypted: true);
        await using (reencrypting)
        {
            await reencrypting.ReencryptToEndAsync(Ct);
            Assert.Equal(0, (await reencrypted.MeasureKeyUsageAsync(Ct)).For(oldKey).Total);
        }

        StatectlRun removed = await KeysAsync(schema, "retire", oldKey, "--remove");
        StatectlRun table = await KeysAsync(schema, "list");

        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.Null(EncryptionKeyFile.Read(schema.KeyFile).Find(oldKey));
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains(newKey, table.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(oldKey, table.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_RowsUnderAKeyTheFileLacks_AreShownAsMissing_AndExit1()
    {
        await using EncryptedSchema schema = await CreateAsync();
        string sealing = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        (StatePersistenceService writer, _) = await schema.OpenAsync(encrypted: true);
        await using (writer)
        {
            await writer.SaveTaskAsync(new AgentTask { Id = "t1", Description = "sealed" }, Ct);
        }

        // Another key file: the one the operator passes by mistake, or one from which the key was removed by hand.
        string other = Path.Combine(Path.GetDirectoryName(schema.KeyFile)!, "other.json");
        EncryptionKeyFile.Create(other);

        StatectlRun run = await StatectlRun.RunAsync(["keys", "list", "--store", "postgres", "--schema", schema.Name, "--key-file", other, "--json"], environment: Environment);

        Assert.True(run.ExitCode == 1, run.ToString());
        JsonElement missing = run.Json().GetProperty("keys").EnumerateArray().Single(k => k.GetProperty("id").GetString() == sealing);
        Assert.Equal("missing", missing.GetProperty("state").GetString());
        Assert.Equal(1, missing.GetProperty("items").GetInt64());
    }

    [Fact]
    public async Task ASchemaWithoutAStore_IsNamed_PostgresWithoutAConnectionString_IsBadUsage_ButARetirementNeedsNone()
    {
        await using TestSchema empty = await PostgresServer.NewSchemaAsync();
        DirectoryInfo directory = Directory.CreateTempSubdirectory("sp-statectl-keys-");
        string keys = Path.Combine(directory.FullName, "keys.json");
        EncryptionKeyFile.Create(keys);

        string first = EncryptionKeyFile.Read(keys).Active.Id;
        EncryptionKeyOperations.Rotate(keys);

        StatectlRun none, noString, verify, retire;
        try
        {
            none = await StatectlRun.RunAsync(["keys", "list", "--store", "postgres", "--schema", empty.Name, "--key-file", keys], environment: Environment);
            noString = await StatectlRun.RunAsync(["keys", "list", "--store", "postgres", "--key-file", keys]);
            verify = await StatectlRun.RunAsync(["keys", "verify", "--store", "postgres", "--key-file", keys], environment: Environment);

            // A retirement without --remove or --revoke looks at no store: the deployment's variables alone do not stop it.
            retire = await StatectlRun.RunAsync(["keys", "retire", first, "--key-file", keys],
                environment: new Dictionary<string, string> { ["StatePersistence__Store"] = "postgres" });
        }
        finally
        {
            directory.Delete(recursive: true);
        }

        Assert.True(none.ExitCode == 1, none.ToString());
        Assert.Contains($"The PostgreSQL schema '{empty.Name}' at postgresql://", none.Error, StringComparison.Ordinal);
        Assert.Contains("holds no StatePersistence store", none.Error, StringComparison.Ordinal);
        Assert.True(noString.ExitCode == 2, noString.ToString());
        Assert.Contains("--store postgres needs a connection string", noString.Error, StringComparison.Ordinal);
        Assert.True(verify.ExitCode == 2, verify.ToString());
        Assert.Contains("keys verify opens the payloads of a state directory", verify.Error, StringComparison.Ordinal);
        Assert.True(retire.ExitCode == 0, retire.ToString());
    }

    [Fact]
    public async Task Revoke_IsRefusedWhileRowsAreSealedWithTheKey_AndAllowedOnceTheReencryptionRewroteThem()
    {
        await using EncryptedSchema schema = await CreateAsync();
        string oldKey = EncryptionKeyFile.Create(schema.KeyFile).Active.Id;
        (StatePersistenceService writer, _) = await schema.OpenAsync(encrypted: true);
        await using (writer)
        {
            await writer.SaveTaskAsync(new AgentTask { Id = "t1", Description = "sealed" }, Ct);
        }

        // The rotation retires the key every row is still sealed with; revoked, an instance could no longer load them.
        EncryptionKeyOperations.Rotate(schema.KeyFile);
        byte[] keyFile = await File.ReadAllBytesAsync(schema.KeyFile, Ct);

        StatectlRun refused = await KeysAsync(schema, "retire", oldKey, "--revoke");

        Assert.True(refused.ExitCode == 1, refused.ToString());
        string error = refused.Error.ReplaceLineEndings("");
        Assert.Contains($"The key '{oldKey}' still seals", error, StringComparison.Ordinal);
        Assert.Contains("row(s) of the PostgreSQL store postgresql://", error, StringComparison.Ordinal);
        Assert.Contains("--accept-unreadable", error, StringComparison.Ordinal);
        Assert.Contains($"The key '{oldKey}' was not revoked", error, StringComparison.Ordinal);
        Assert.DoesNotContain(PostgresServer.ConnectionString, refused.ToString(), StringComparison.Ordinal);
        Assert.Equal(keyFile, await File.ReadAllBytesAsync(schema.KeyFile, Ct));

        (StatePersistenceService reencrypting, _) = await schema.OpenAsync(encrypted: true);
        await using (reencrypting)
        {
            await reencrypting.ReencryptToEndAsync(Ct);
        }

        StatectlRun revoked = await KeysAsync(schema, "retire", oldKey, "--revoke");

        Assert.True(revoked.ExitCode == 0, revoked.ToString());
        Assert.Equal(EncryptionKeyState.Revoked, EncryptionKeyFile.Read(schema.KeyFile).Find(oldKey)!.State);
    }

    private static Task<StatectlRun> KeysAsync(EncryptedSchema schema, params string[] arguments) =>
        StatectlRun.RunAsync(["keys", .. arguments, "--store", "postgres", "--schema", schema.Name, "--key-file", schema.KeyFile], environment: Environment);
}
