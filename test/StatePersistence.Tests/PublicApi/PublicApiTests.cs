using System.Reflection;
using PublicApiGenerator;

namespace StatePersistence.Tests.PublicApi;

/// <summary>
/// Locks the library's public API: a change to it must be a visible decision, made by updating the approved file
/// (copy the <c>.received.txt</c> this test writes over the <c>.approved.txt</c> beside it).
/// </summary>
public sealed class PublicApiTests
{
    [Fact]
    public void StatePersistence_PublicApi_IsApproved() => Approve(typeof(StatePersistenceService).Assembly);

    private static void Approve(Assembly assembly)
    {
        string api = assembly.GeneratePublicApi(new ApiGeneratorOptions { ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute"] })
            .ReplaceLineEndings("\n");
        string folder = Path.Combine(SourceFolder(), "PublicApi");
        string approved = Path.Combine(folder, assembly.GetName().Name + ".approved.txt");
        string received = Path.Combine(folder, assembly.GetName().Name + ".received.txt");
        string expected = File.Exists(approved) ? File.ReadAllText(approved).ReplaceLineEndings("\n") : "";
        if (expected != api)
        {
            File.WriteAllText(received, api);
            Assert.Fail($"The public API of {assembly.GetName().Name} changed. If that is intended, copy '{received}' over '{approved}'.");
        }

        File.Delete(received);
    }

    private static string SourceFolder([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetDirectoryName(Path.GetDirectoryName(path))!;
}
