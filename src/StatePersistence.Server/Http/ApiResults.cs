using System.Text.Json.Serialization.Metadata;

namespace StatePersistence.Server.Http;

/// <summary>JSON results written with source-generated metadata, so every response uses the core's JSON conventions.</summary>
internal static class ApiResults
{
    /// <summary>The content type of every JSON answer but a problem.</summary>
    public const string JsonContentType = "application/json; charset=utf-8";

    public static IResult Ok<T>(T value, JsonTypeInfo<T> typeInfo) => new JsonBodyResult<T>(value, typeInfo, StatusCodes.Status200OK);

    /// <summary>201 with the created resource and its <c>Location</c>.</summary>
    public static IResult Created<T>(HttpResponse response, string location, T value, JsonTypeInfo<T> typeInfo)
    {
        response.Headers.Location = location;
        return new JsonBodyResult<T>(value, typeInfo, StatusCodes.Status201Created);
    }
}
