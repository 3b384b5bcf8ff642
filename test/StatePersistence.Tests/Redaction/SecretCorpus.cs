namespace StatePersistence.Tests.Redaction;

/// <summary>
/// Realistic secrets in realistic surroundings (each with the exact text it must become), and look-alikes that must
/// survive unchanged. The credentials are made up (AWS's and Azurite's documented examples where a provider has one).
/// </summary>
public static class SecretCorpus
{
    private const string Jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    private const string GitHub = "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";
    private const string GitLab = "glpat-9fE2kLmN4pQrS7tUvW1x";
    private const string Slack = "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
    private const string Anthropic = "sk-ant-api03-Xy7kQ2mN9pL4vR8tW1zB6cD3fG5hJ0aS-_eU2iO4uY7tR9qP1wE3rT5yU8iO0pA-AbCdEfAA";
    private const string OpenAiProject = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6lMn9oPq2rSt5uVw8xYz";
    private const string OpenAiLegacy = "sk-T3BlbkFJ8aLq2Wz7Xc5Vb1Nm4Kj6Hg9Fd3Sa0PqZx9Yw8VuQ";
    private const string HuggingFace = "hf_kQx7Lr2VbN9mWc4TzJh8PdYs6GfA1eRu3Ko5";
    private const string Google = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY";
    private const string AwsId = "AKIAIOSFODNN7EXAMPLE";
    private const string AwsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    private const string AzureKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>One line per built-in kind (some kinds more than once, in their other shapes): kind, text, redacted text.</summary>
    public static TheoryData<string, string, string> OneOfEachKind => new()
    {
        { "private-key", "key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF0qVb5G8\nR1fQ2pYk9c3X+7w=\n-----END RSA PRIVATE KEY-----\nloaded", "key: [REDACTED:private-key]\nloaded" },
        { "private-key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "[REDACTED:private-key]" },
        { "jwt", $"id_token {Jwt} issued", "id_token [REDACTED:jwt] issued" },
        { "github-token", $"using {GitHub} for the push", "using [REDACTED:github-token] for the push" },
        { "github-token", "gh auth login --with-token github_pat_11ABCDE0Y0aBcDeFgHiJkLmN_OpQrStUvWxYz0123456789AbCdEfGhIjKlMn", "gh auth login --with-token [REDACTED:github-token]" },
        { "gitlab-token", $"PRIVATE-TOKEN: {GitLab}", "PRIVATE-TOKEN: [REDACTED:gitlab-token]" },
        { "slack-token", $"SLACK_BOT={Slack} ok", "SLACK_BOT=[REDACTED:slack-token] ok" },
        { "slack-webhook", "posting to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX now", "posting to https://hooks.slack.com/services/[REDACTED:slack-webhook] now" },
        { "anthropic-api-key", $"client = Anthropic(\"{Anthropic}\")", "client = Anthropic(\"[REDACTED:anthropic-api-key]\")" },
        { "openai-api-key", $"key {OpenAiProject}.", "key [REDACTED:openai-api-key]." },
        { "openai-api-key", $"openai.api_key = {OpenAiLegacy}", "openai.api_key = [REDACTED:openai-api-key]" },
        { "huggingface-token", $"huggingface-cli login --token {HuggingFace}", "huggingface-cli login --token [REDACTED:huggingface-token]" },
        { "google-api-key", $"https://maps.googleapis.com/maps/api/geocode/json?address=Paris&key={Google}", "https://maps.googleapis.com/maps/api/geocode/json?address=Paris&key=[REDACTED:google-api-key]" },
        { "aws-access-key-id", $"Access key {AwsId} is inactive", "Access key [REDACTED:aws-access-key-id] is inactive" },
        { "aws-secret-access-key", $"aws_secret_access_key = {AwsSecret}", "aws_secret_access_key = [REDACTED:aws-secret-access-key]" },
        { "aws-secret-access-key", $"\"SecretAccessKey\": \"{AwsSecret}\",", "\"SecretAccessKey\": \"[REDACTED:aws-secret-access-key]\"," },
        { "aws-secret-access-key", $"$ aws configure set aws_secret_access_key {AwsSecret}", "$ aws configure set aws_secret_access_key [REDACTED:aws-secret-access-key]" },
        { "azure-storage-key", $"DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey={AzureKey};EndpointSuffix=core.windows.net", "DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey=[REDACTED:azure-storage-key];EndpointSuffix=core.windows.net" },
        { "azure-sas-token", "GET https://acme.blob.core.windows.net/c/b.txt?sv=2022-11-02&sp=r&se=2026-01-01T00:00:00Z&sig=5oA2Ecd0ZqHtEhBXjWkB2vyFcGhH9y8TZ0r%2FYqvN6kE%3D 200", "GET https://acme.blob.core.windows.net/c/b.txt?sv=2022-11-02&sp=r&se=2026-01-01T00:00:00Z&sig=[REDACTED:azure-sas-token] 200" },
        { "url-password", "connecting to postgres://app:S3cr3t-P%40ss@db.internal:5432/agents", "connecting to postgres://app:[REDACTED:url-password]@db.internal:5432/agents" },
        { "bearer-token", "Authorization: Bearer 4f8a1c9e7b2d6a0f3e5c8b1a9d7f2e4c", "Authorization: Bearer [REDACTED:bearer-token]" },
        { "basic-auth", "Authorization: Basic YWRtaW46aHVudGVyMg==", "Authorization: Basic [REDACTED:basic-auth]" },
        { "connection-string-password", "Host=db.internal;Username=agent;Password=correct horse battery;Database=agents", "Host=db.internal;Username=agent;Password=[REDACTED:connection-string-password];Database=agents" },
        { "password", "mysql -u root --password=Tr0ub4dor3x -e 'select 1'", "mysql -u root --password=[REDACTED:password] -e 'select 1'" },
        { "password", "$ mysqldump --user root --password 'Tr0ub4dor&3 x' agents > dump.sql", "$ mysqldump --user root --password '[REDACTED:password]' agents > dump.sql" },
        { "token", "$ vault login -token s.hvs.CAESIJ7x9kPq2m agents", "$ vault login -token [REDACTED:token] agents" },
        { "password", "{\"username\": \"agent\", \"password\": \"p@ss \\\"quoted\\\" w0rd\"}", "{\"username\": \"agent\", \"password\": \"[REDACTED:password]\"}" },
        { "password", "db:\n  host: localhost\n  password: s3cr3t-yaml\n  port: 5432", "db:\n  host: localhost\n  password: [REDACTED:password]\n  port: 5432" },
        { "secret", "client_secret=Zm9vYmFyYmF6cXV4 grant_type=client_credentials", "client_secret=[REDACTED:secret] grant_type=client_credentials" },
        { "token", "GITHUB_TOKEN: 'opaque-token-value-123'", "GITHUB_TOKEN: '[REDACTED:token]'" },
        { "api-key", "x-api-key: 9a8b7c6d5e4f3a2b1c0d", "x-api-key: [REDACTED:api-key]" },
        { "api-key", "{'apiKey': 'k-8812-xx-7731'}", "{'apiKey': '[REDACTED:api-key]'}" },
    };

    /// <summary>Whole documents as agents log them: name, text, redacted text.</summary>
    public static TheoryData<string, string, string> Documents => new()
    {
        {
            "shell transcript",
            $"""
            $ export AWS_ACCESS_KEY_ID={AwsId}
            $ export AWS_SECRET_ACCESS_KEY={AwsSecret}
            $ curl -s -H "Authorization: Bearer {GitHub}" https://api.github.com/user
            {"{"}"login": "agent-bot", "id": 4242{"}"}
            $ psql "postgres://agent:Sup3rS3cret@db.internal:5432/agents" -c 'select 1'
             ?column?
            ----------
                    1
            $ git log -1 --format=%H
            3f786850e387550fdab836ed7e6dc881de23001b
            $ echo password=$DB_PASSWORD
            """,
            """
            $ export AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key-id]
            $ export AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-access-key]
            $ curl -s -H "Authorization: Bearer [REDACTED:github-token]" https://api.github.com/user
            {"login": "agent-bot", "id": 4242}
            $ psql "postgres://agent:[REDACTED:url-password]@db.internal:5432/agents" -c 'select 1'
             ?column?
            ----------
                    1
            $ git log -1 --format=%H
            3f786850e387550fdab836ed7e6dc881de23001b
            $ echo password=$DB_PASSWORD
            """
        },
        {
            "JSON config dump",
            $$"""
            {
              "type": "service_account",
              "project_id": "acme-agents",
              "private_key_id": "3f786850e387550fdab836ed7e6dc881de23001b",
              "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----\n",
              "client_email": "agent@acme-agents.iam.gserviceaccount.com",
              "openai_api_key": "{{OpenAiProject}}",
              "anthropic": {"api_key": "{{Anthropic}}"},
              "huggingface_token": "{{HuggingFace}}",
              "maps_key": "{{Google}}",
              "max_tokens": 4096,
              "database": {"password": "correct-horse-battery-staple", "password_hash_algorithm": "argon2id"}
            }
            """,
            """
            {
              "type": "service_account",
              "project_id": "acme-agents",
              "private_key_id": "3f786850e387550fdab836ed7e6dc881de23001b",
              "private_key": "[REDACTED:private-key]\n",
              "client_email": "agent@acme-agents.iam.gserviceaccount.com",
              "openai_api_key": "[REDACTED:openai-api-key]",
              "anthropic": {"api_key": "[REDACTED:anthropic-api-key]"},
              "huggingface_token": "[REDACTED:huggingface-token]",
              "maps_key": "[REDACTED:google-api-key]",
              "max_tokens": 4096,
              "database": {"password": "[REDACTED:password]", "password_hash_algorithm": "argon2id"}
            }
            """
        },
        {
            "HTTP request log",
            $"""
            2026-12-01T23:41:07Z POST /v1/messages HTTP/1.1
            Host: api.anthropic.com
            x-api-key: {Anthropic}
            Authorization: Basic YWRtaW46aHVudGVyMg==
            Cookie: theme=dark; csrftoken=Vd8Kp2Lx9Qw3Zr7Tn5Bm1Hc4
            Content-Type: application/json
            User-Agent: agent/1.4.2
            2026-12-01T23:41:08Z GET /api/tasks?page=2&access_token=ya29.a0AfH6SMBx7Qn2Lp9 HTTP/1.1
            Authorization: Bearer {Jwt}
            2026-12-01T23:41:09Z POST https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX 200
            """,
            """
            2026-12-01T23:41:07Z POST /v1/messages HTTP/1.1
            Host: api.anthropic.com
            x-api-key: [REDACTED:anthropic-api-key]
            Authorization: Basic [REDACTED:basic-auth]
            Cookie: theme=dark; csrftoken=[REDACTED:token]
            Content-Type: application/json
            User-Agent: agent/1.4.2
            2026-12-01T23:41:08Z GET /api/tasks?page=2&access_token=[REDACTED:token] HTTP/1.1
            Authorization: Bearer [REDACTED:jwt]
            2026-12-01T23:41:09Z POST https://hooks.slack.com/services/[REDACTED:slack-webhook] 200
            """
        },
        {
            "stack trace",
            $"""
            Npgsql.PostgresException (0x80004005): 28P01: password authentication failed for user "agent"
               at Npgsql.Internal.NpgsqlConnector.OpenAsync(NpgsqlTimeout timeout, Boolean async, CancellationToken cancellationToken)
               at Acme.Agents.Db.ConnectAsync(String connectionString) in /src/Acme.Agents/Db.cs:line 42
             connectionString: Host=db.internal;Port=5432;Username=agent;Password=Sup3r S3cret!;Database=agents
            Unhandled exception. System.Net.Http.HttpRequestException: Response status code does not indicate success: 401 (Unauthorized).
               at System.Net.Http.HttpResponseMessage.EnsureSuccessStatusCode()
               at Acme.Agents.Git.PushAsync(Uri remote) in /src/Acme.Agents/Git.cs:line 17
             remote: https://ci:{GitLab}@gitlab.example.com/acme/app.git
            """,
            """
            Npgsql.PostgresException (0x80004005): 28P01: password authentication failed for user "agent"
               at Npgsql.Internal.NpgsqlConnector.OpenAsync(NpgsqlTimeout timeout, Boolean async, CancellationToken cancellationToken)
               at Acme.Agents.Db.ConnectAsync(String connectionString) in /src/Acme.Agents/Db.cs:line 42
             connectionString: Host=db.internal;Port=5432;Username=agent;Password=[REDACTED:connection-string-password];Database=agents
            Unhandled exception. System.Net.Http.HttpRequestException: Response status code does not indicate success: 401 (Unauthorized).
               at System.Net.Http.HttpResponseMessage.EnsureSuccessStatusCode()
               at Acme.Agents.Git.PushAsync(Uri remote) in /src/Acme.Agents/Git.cs:line 17
             remote: https://ci:[REDACTED:gitlab-token]@gitlab.example.com/acme/app.git
            """
        },
        {
            ".env file",
            $"""
            # Agent settings
            NODE_ENV=production
            PORT=5080
            DATABASE_URL=postgres://agent:pg-Pa55word@localhost:5432/agents
            OPENAI_API_KEY={OpenAiLegacy}
            HF_TOKEN={HuggingFace}
            SLACK_BOT_TOKEN={Slack}
            JWT_SECRET="a-very-long-random-jwt-signing-secret-42"
            SESSION_SECRET='s3ss10n-s1gn1ng-k3y'
            GOOGLE_API_KEY={Google}
            AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey={AzureKey};EndpointSuffix=core.windows.net"
            DB_PASSWORD=${"{"}VAULT_DB_PASSWORD{"}"}
            MAX_TOKENS=4096
            """,
            """
            # Agent settings
            NODE_ENV=production
            PORT=5080
            DATABASE_URL=postgres://agent:[REDACTED:url-password]@localhost:5432/agents
            OPENAI_API_KEY=[REDACTED:openai-api-key]
            HF_TOKEN=[REDACTED:huggingface-token]
            SLACK_BOT_TOKEN=[REDACTED:slack-token]
            JWT_SECRET="[REDACTED:secret]"
            SESSION_SECRET='[REDACTED:secret]'
            GOOGLE_API_KEY=[REDACTED:google-api-key]
            AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey=[REDACTED:azure-storage-key];EndpointSuffix=core.windows.net"
            DB_PASSWORD=${VAULT_DB_PASSWORD}
            MAX_TOKENS=4096
            """
        },
    };

    /// <summary>Texts that look like secrets, or talk about them, and must be stored exactly as given.</summary>
    public static TheoryData<string> LookAlikes => new()
    {
        "commit 3f786850e387550fdab836ed7e6dc881de23001b (HEAD -> main, origin/main)",
        "task 123e4567-e89b-12d3-a456-426614174000 started; session 9b2c7d0e-4f1a-4e6b-8c3d-2a5f6e7b8c9d attached",
        "image: iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "Content-Transfer-Encoding: base64\n\nUEsDBBQAAAAIAAd0gVhHn2Vx2wAAAEQBAAAKAAAAcmVhZG1lLm1kVY/BTsMwDIbve4q/0y6l\nqNrYgcMkDgjEARDiwjVt3TUidarEHd3bk3YDiZMtf/792ze4fQ9MZDUxm5k1Kp+ZBSQ3uSyzsS0I\n",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "Digest: sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        "Please enter your password to continue.",
        "The token expired; requesting a new one from the identity provider.",
        "Reset the password and rotate the API key tomorrow; keep the secret in the vault.",
        "Remember the password: it expires in 30 days.",
        "Basic authentication is disabled; Bearer tokens are sent in the Authorization header.",
        "password authentication failed for user \"agent\"",
        "The tokenizer counted 812 tokens (max_tokens=1024, token_count: 812).",
        "--password-file /run/secrets/db_password --token-ttl 3600",
        "agent --password --verbose and --token $VAULT_TOKEN",
        "password_hash_algorithm=argon2id",
        "export DB_PASSWORD=$VAULT_DB_PASSWORD",
        "password: ********",
        "OLDPWD=/home/agent/src",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials",
        "https://example.com:8443/api/v1/tasks?page=2&sort=created_at",
        "ssh://git@github.com/acme/app.git and http://localhost:5080/health",
        "mailto:oncall@example.com",
        "com.example.agent.TaskRunner v1.2.3 loaded from a.b.c",
        "eyJhbGciOiJub25lIn0.not-a-payload",
        "header.payload.signature is how a JWT is laid out",
        "scikit-learn (sk-learn) 1.5.2 and the sk-task-runner-configuration-file option",
        "from huggingface_hub import hf_hub_download",
        "arn:aws:iam::123456789012:role/agent-runner",
        "AKIA is the prefix of a long-term AWS access key id",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
        "curl -H \"Authorization: Bearer $TOKEN\" https://api.example.com",
        "The logs were written to /var/log/agent/token-refresh.log",
    };
}
