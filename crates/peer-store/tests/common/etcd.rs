//! A real etcd for the store tests, from the project's lab harness.

use peer_store::{EtcdStore, Revision};

/// A running etcd; killed (and its data directory removed) on drop.
pub(crate) struct EtcdServer {
    etcd: lab::Etcd,
}

impl EtcdServer {
    /// A real etcd from the project's lab harness; a missing `etcd-server`
    /// package fails the test with the package's name, it does not skip it.
    pub(crate) fn start(test: &str) -> EtcdServer {
        EtcdServer {
            etcd: lab::Etcd::start(test).unwrap_or_else(|error| panic!("{error}")),
        }
    }

    pub(crate) fn endpoints(&self) -> Vec<String> {
        vec![self.etcd.endpoint().to_owned()]
    }

    pub(crate) fn store(&self, prefix: &str) -> EtcdStore {
        EtcdStore::connect(&self.endpoints(), Some(prefix)).unwrap()
    }

    /// Runs `work` with an etcd-client connected to this server, on a
    /// runtime of its own: the store's API is synchronous, and so are the tests.
    fn with_client<T>(&self, work: impl AsyncFnOnce(&mut etcd_client::Client) -> T) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut client = etcd_client::Client::connect(self.endpoints(), None)
                .await
                .unwrap();
            work(&mut client).await
        })
    }

    /// Every key/value under `prefix`, read with etcd-client directly.
    pub(crate) fn raw(&self, prefix: &str) -> Vec<(String, String)> {
        self.with_client(async |client| {
            let options = etcd_client::GetOptions::new().with_prefix();
            let response = client.get(prefix, Some(options)).await.unwrap();
            response
                .kvs()
                .iter()
                .map(|kv| {
                    (
                        kv.key_str().unwrap().to_owned(),
                        kv.value_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
    }

    /// Drops etcd's history up to `revision`.
    pub(crate) fn compact(&self, revision: Revision) {
        self.with_client(async |client| {
            client.compact(revision.0 as i64, None).await.unwrap();
        });
    }

    /// Deletes a key directly, as another Calico component would.
    pub(crate) fn delete_raw(&self, key: &str) {
        self.with_client(async |client| {
            client.delete(key, None).await.unwrap();
        });
    }

    /// Writes a key directly, as another Calico component would.
    pub(crate) fn put_raw(&self, key: &str, value: &str) {
        self.with_client(async |client| {
            client.put(key, value, None).await.unwrap();
        });
    }
}
